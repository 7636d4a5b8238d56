package upstream

import (
	"net/http"
	"testing"
	"time"
)

func TestCacheTTL(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{}, 5 * time.Minute}, // the default
		{http.Header{"Cache-Control": {"public, max-age=600"}}, 10 * time.Minute},
		{http.Header{"Cache-Control": {`max-age="600"`}}, 10 * time.Minute},
		{http.Header{"Cache-Control": {"max-age=600", "max-age=60"}}, 10 * time.Minute},
		{http.Header{"Cache-Control": {"max-age=600"}, "Age": {"300"}}, 5 * time.Minute},
		{http.Header{"Cache-Control": {"max-age=10"}}, time.Minute},           // clamped up
		{http.Header{"Cache-Control": {"max-age=999999999"}}, 24 * time.Hour}, // clamped down
		{http.Header{"Cache-Control": {"max-age=-5"}}, time.Minute},
		{http.Header{"Cache-Control": {"max-age=600, no-store"}}, time.Minute},
		{http.Header{"Cache-Control": {"NO-CACHE"}}, time.Minute},
		{http.Header{"Expires": {now.Add(2 * time.Hour).Format(http.TimeFormat)}}, 2 * time.Hour},
		{http.Header{"Expires": {now.Add(2 * time.Hour).Format(http.TimeFormat)}, "Date": {now.Add(time.Hour).Format(http.TimeFormat)}}, time.Hour},
		{http.Header{"Expires": {"0"}}, time.Minute},
	} {
		if got := CacheTTL(tc.h, now, 5*time.Minute, time.Minute, 24*time.Hour); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.h, got, tc.want)
		}
	}
}
