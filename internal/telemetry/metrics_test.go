package telemetry_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ecode/internal/telemetry"
)

// Made-up request methods (clients choose them) share one "OTHER" series
// instead of adding a series each.
func TestRequestMethodLabelIsBounded(t *testing.T) {
	m := telemetry.New()
	m.ObserveRequest("", "GET", 404, time.Millisecond)
	for _, meth := range []string{"FOO", "BAR", "X-1"} {
		m.ObserveRequest("", meth, 405, time.Millisecond)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	if strings.Contains(text, `method="FOO"`) || strings.Contains(text, `method="BAR"`) {
		t.Fatalf("a made-up method became a label value:\n%s", text)
	}
	var other string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, `method="OTHER"`) {
			other = line
		}
	}
	if !strings.HasSuffix(other, " 3") || !strings.Contains(text, `method="GET"`) {
		t.Fatalf("want one OTHER series counting 3 and the GET one, got %q in\n%s", other, text)
	}
}
