//go:build !linux

package rules

import (
	"context"
	"errors"
)

// NTPSynced is known only on Linux; elsewhere it reports an error, and a
// config that requires synchronisation keeps the clock untrusted.
func NTPSynced(ctx context.Context) (bool, error) {
	return false, errors.New("NTP synchronisation state is read only on Linux")
}
