package deploy_test

import (
	"errors"
	"testing"
	"time"

	"ecode/internal/deploy"
)

// FuzzParseSchedule: any text either parses to a schedule whose next due
// time is after the time asked about (or none), at whole minutes, or fails
// with ErrBadSchedule; it never panics.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "0 3 * * 1-5", "@hourly", "@every 90s", "@every 1s", "61 * * * *",
		"* * * *", "0 0 30 2 *", "CRON_TZ=Europe/Paris 0 3 * * *", "1,2,3 */2 1-31/7 JAN-DEC SUN-SAT", ""} {
		f.Add(s)
	}
	from := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		sc, err := deploy.ParseSchedule(spec)
		if err != nil {
			if !errors.Is(err, deploy.ErrBadSchedule) {
				t.Fatalf("%q: error %v is not ErrBadSchedule", spec, err)
			}
			return
		}
		next := sc.Next(from)
		if next.IsZero() {
			return // e.g. February 30th: never due
		}
		if !next.After(from) {
			t.Fatalf("%q: next %v is not after %v", spec, next, from)
		}
		if after := sc.Next(next); !after.IsZero() && after.Sub(next) < time.Minute {
			t.Fatalf("%q: due %v then %v, less than a minute apart", spec, next, after)
		}
	})
}
