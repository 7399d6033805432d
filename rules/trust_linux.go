package rules

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
)

// NTPSynced asks the kernel whether its clock is synchronised: adjtimex(2)
// returns TIME_ERROR (5) while the clock is unsynchronised (STA_UNSYNC set,
// e.g. before chrony or systemd-timesyncd has disciplined it).
func NTPSynced(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	var tx unix.Timex // modes 0: read only
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, fmt.Errorf("read kernel clock state (adjtimex): %w", err)
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0, nil
}
