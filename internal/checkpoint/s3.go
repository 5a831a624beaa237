package checkpoint

import (
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options say where an S3Store keeps its objects.
type S3Options struct {
	Endpoint  string // host[:port], no scheme
	Bucket    string // created when missing
	AccessKey string
	SecretKey string
	Insecure  bool   // plain HTTP instead of HTTPS
	TempDir   string // where Put compresses an object before uploading ("": os.TempDir)
}

// S3Store is an ObjectStore in an S3-compatible bucket: one object per hash
// under objects/<2 hex>/<62 hex>, each a DEFLATE stream as in DirStore. An
// upload is atomic in S3 (an object appears whole or not at all), so a
// crash leaves at most a local temporary file. The object's LastModified is
// the garbage collector's lease: a Put of present content copies the object
// onto itself to renew it. The collection epoch is the object "epoch" in the
// bucket, so every node sharing the bucket sees a collection. S3Store does
// not pack small objects.
type S3Store struct {
	client *minio.Client
	bucket string
	tmp    string
}

// NewS3Store connects to the bucket, creating it if it does not exist.
func NewS3Store(ctx context.Context, opt S3Options) (*S3Store, error) {
	if opt.Endpoint == "" || opt.Bucket == "" {
		return nil, errors.New("object store: s3 needs an endpoint and a bucket")
	}
	if opt.TempDir != "" {
		if err := os.MkdirAll(opt.TempDir, 0o700); err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
		cleanupTemp(opt.TempDir, s3TempPrefix) // what crashed Puts left
	}
	c, err := minio.New(opt.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(opt.AccessKey, opt.SecretKey, ""),
		Secure: !opt.Insecure,
	})
	if err != nil {
		return nil, fmt.Errorf("object store: s3: %w", err)
	}
	ok, err := c.BucketExists(ctx, opt.Bucket)
	if err != nil {
		return nil, fmt.Errorf("object store: s3 bucket %s: %w", opt.Bucket, err)
	}
	if !ok {
		if err := c.MakeBucket(ctx, opt.Bucket, minio.MakeBucketOptions{}); err != nil {
			return nil, fmt.Errorf("object store: s3 create bucket %s: %w", opt.Bucket, err)
		}
	}
	s := &S3Store{client: c, bucket: opt.Bucket, tmp: opt.TempDir}
	if e, err := s.Epoch(); err != nil {
		return nil, err
	} else if e == "" {
		if err := s.NewEpoch(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

const s3EpochKey = "epoch"

// s3EpochTimeout bounds the epoch's requests (the epocher interface has no
// context).
const s3EpochTimeout = 30 * time.Second

// Epoch names the bucket's current collection epoch (see DirStore.Epoch).
func (s *S3Store) Epoch() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s3EpochTimeout)
	defer cancel()
	obj, err := s.client.GetObject(ctx, s.bucket, s3EpochKey, minio.GetObjectOptions{})
	if err != nil {
		return "", fmt.Errorf("object store: s3 epoch: %w", err)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, 64))
	if s3Missing(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("object store: s3 epoch: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// NewEpoch starts a new epoch (GC calls it before deleting anything).
func (s *S3Store) NewEpoch() error {
	ctx, cancel := context.WithTimeout(context.Background(), s3EpochTimeout)
	defer cancel()
	b := make([]byte, 8)
	rand.Read(b)
	e := hex.EncodeToString(b) + "\n"
	_, err := s.client.PutObject(ctx, s.bucket, s3EpochKey, strings.NewReader(e), int64(len(e)), minio.PutObjectOptions{ContentType: "text/plain"})
	if err != nil {
		return fmt.Errorf("object store: s3 new epoch: %w", err)
	}
	return nil
}

const s3Prefix = "objects/"

// s3TempPrefix names Put's local temporary files.
const s3TempPrefix = "ecode-s3put-"

func s3Key(h Hash) string { return s3Prefix + string(h[:2]) + "/" + string(h[2:]) }

// s3Missing reports whether err says the key (or the bucket) is not there.
func s3Missing(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == minio.NoSuchKey || code == minio.NoSuchBucket
}

// Put implements ObjectStore.
func (s *S3Store) Put(ctx context.Context, r io.Reader) (Hash, error) {
	h, _, err := s.putSized(ctx, r)
	return h, err
}

// putSized is Put also returning the bytes it added to the bucket (0 when
// the object was there already; see countingStore). The content is
// compressed and hashed into a local temporary file first, since the key is
// the hash of the content.
func (s *S3Store) putSized(ctx context.Context, r io.Reader) (Hash, int64, error) {
	f, err := os.CreateTemp(s.tmp, s3TempPrefix)
	if err != nil {
		return "", 0, fmt.Errorf("object store: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h, err := compressInto(ctx, f, r)
	if err != nil {
		return "", 0, err
	}
	if renewed, err := s.renew(ctx, h); err != nil || renewed {
		return h, 0, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", 0, fmt.Errorf("object store: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", 0, fmt.Errorf("object store: %w", err)
	}
	_, err = s.client.PutObject(ctx, s.bucket, s3Key(h), f, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return "", 0, fmt.Errorf("object store: s3 put %s: %w", h, err)
	}
	hook("put")
	return h, size, nil
}

// renew copies h onto itself (new LastModified) when it is stored, and
// reports whether it was.
func (s *S3Store) renew(ctx context.Context, h Hash) (bool, error) {
	key := s3Key(h)
	_, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: key, ReplaceMetadata: true,
			UserMetadata: map[string]string{"Renewed": time.Now().UTC().Format(time.RFC3339Nano)}},
		minio.CopySrcOptions{Bucket: s.bucket, Object: key})
	switch {
	case err == nil:
		return true, nil
	case s3Missing(err):
		return false, nil // not there (or collected meanwhile): upload it
	default:
		return false, fmt.Errorf("object store: s3 renew %s: %w", h, err)
	}
}

// Get implements ObjectStore.
func (s *S3Store) Get(ctx context.Context, h Hash) (io.ReadCloser, error) {
	if !h.Valid() {
		return nil, fmt.Errorf("object store: bad hash %q", h)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s3Key(h), minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat() // GetObject is lazy: this sends the request
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		if s3Missing(err) {
			return nil, ErrObjectNotFound
		}
		return nil, fmt.Errorf("object store: s3 get %s: %w", h, err)
	}
	zr := flateReaders.Get().(io.ReadCloser)
	zr.(flate.Resetter).Reset(obj, nil)
	return &flateObject{obj: obj, r: zr}, nil
}

type flateObject struct {
	obj *minio.Object
	r   io.ReadCloser
}

func (z *flateObject) Read(p []byte) (int, error) { return z.r.Read(p) }
func (z *flateObject) Close() error {
	if z.r != nil {
		z.r.Close()
		flateReaders.Put(z.r)
		z.r = nil
	}
	return z.obj.Close()
}

// Has implements ObjectStore.
func (s *S3Store) Has(ctx context.Context, h Hash) (bool, error) {
	if !h.Valid() {
		return false, fmt.Errorf("object store: bad hash %q", h)
	}
	_, err := s.client.StatObject(ctx, s.bucket, s3Key(h), minio.StatObjectOptions{})
	switch {
	case err == nil:
		return true, nil
	case s3Missing(err):
		return false, nil
	default:
		return false, fmt.Errorf("object store: s3 stat %s: %w", h, err)
	}
}

// Delete implements ObjectStore.
func (s *S3Store) Delete(ctx context.Context, h Hash) error {
	if !h.Valid() {
		return fmt.Errorf("object store: bad hash %q", h)
	}
	err := s.client.RemoveObject(ctx, s.bucket, s3Key(h), minio.RemoveObjectOptions{})
	if err != nil && !s3Missing(err) {
		return fmt.Errorf("object store: s3 delete %s: %w", h, err)
	}
	return nil
}

// List implements ObjectStore.
func (s *S3Store) List(ctx context.Context, fn func(ObjectInfo) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when fn fails
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s3Prefix, Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("object store: s3 list: %w", o.Err)
		}
		h := Hash(strings.ReplaceAll(strings.TrimPrefix(o.Key, s3Prefix), "/", ""))
		if !h.Valid() || o.Key != s3Key(h) {
			continue
		}
		if err := fn(ObjectInfo{Hash: h, Size: o.Size, ModTime: o.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}
