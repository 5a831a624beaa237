package testdb

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisURL is the Redis server of the multi-node tests
// (ECODE_TEST_REDIS_URL, default redis://127.0.0.1:6379/0). When it does
// not answer the tests skip, except in CI (CI or ECODE_REQUIRE_REDIS set),
// where a missing Redis fails them.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("ECODE_TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	host := strings.TrimPrefix(strings.TrimPrefix(u, "redis://"), "rediss://")
	if i := strings.IndexAny(host, "/?"); i >= 0 {
		host = host[:i]
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("ECODE_REQUIRE_REDIS") != "" {
			t.Fatalf("Redis required at %s: %v", u, err)
		}
		t.Skipf("Redis not reachable at %s (%v): set ECODE_TEST_REDIS_URL", u, err)
	}
	c.Close()
	return u
}

// Redis is a client of the test Redis (see RedisURL), closed when the test
// ends.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}
