package app

import (
	"context"
	"path/filepath"

	"ecode/internal/checkpoint"
	"ecode/internal/config"
)

// newObjectStore opens the store of checkpoint objects --object-store names:
// a folder in the data directory, or an S3-compatible bucket that every node
// of a cluster shares.
func newObjectStore(ctx context.Context, cfg *config.Config) (checkpoint.ObjectStore, error) {
	if cfg.ObjectStore == "s3" {
		return checkpoint.NewS3Store(ctx, checkpoint.S3Options{
			Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Insecure: cfg.S3Insecure,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
			TempDir: filepath.Join(cfg.DataDir, "objects-upload"),
		})
	}
	return checkpoint.NewDirStore(filepath.Join(cfg.DataDir, "objects"))
}
