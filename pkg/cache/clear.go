package cache

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Clear deletes every key under prefix from the Redis at url and returns
// how many it deleted. After a database restore the cache holds copies of
// data newer than the restored truth (and generations that fills would
// trust), so it is emptied before the services start again.
func Clear(ctx context.Context, url, prefix string) (int, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return 0, err
	}
	client := redis.NewClient(opts)
	defer client.Close()
	deleted := 0
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	batch := make([]string, 0, 1000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := client.Unlink(ctx, batch...).Result()
		deleted += int(n)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return deleted, fmt.Errorf("deleting cached keys: %w", err)
			}
		}
	}
	if err := iter.Err(); err != nil {
		return deleted, fmt.Errorf("listing cached keys: %w", err)
	}
	if err := flush(); err != nil {
		return deleted, fmt.Errorf("deleting cached keys: %w", err)
	}
	return deleted, nil
}
