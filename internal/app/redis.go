package app

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"ecode/internal/config"
)

// buildRedis connects to Redis when --redis-url is set: one client, which
// the revocation bus and the collaboration relay share and Close closes
// after both have stopped. It fails when Redis does not answer.
func (s *Server) buildRedis(ctx context.Context, cfg *config.Config) error {
	if cfg.RedisURL == "" {
		return nil
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("redis url: %w", err)
	}
	c := redis.NewClient(opt)
	s.onClose(c.Close) // added first, so run last
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("connect to redis: %w", err)
	}
	s.redis = c
	return nil
}
