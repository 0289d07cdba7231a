package sandbox

import (
	"reflect"
	"testing"
)

func TestOwnedParents(t *testing.T) {
	t.Parallel()
	cases := []struct {
		path string
		want []string
	}{
		{"/workspace/Dockerfile", nil},
		{"/workspace/modules/log-bucket/main.tf", []string{"/workspace/modules", "/workspace/modules/log-bucket"}},
		{"/home/candidate/app/run.sh", []string{"/home/candidate/app"}},
		{"/home/candidate/.bashrc", nil},
		{"/etc/app/app.conf", nil},
		{"/workspace/../etc/x/y", nil},
	}
	for _, tc := range cases {
		if got := ownedParents(tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ownedParents(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}
