package grader

import (
	"io/fs"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
)

// candidateUID is the uid of the candidate user in opsdojo's images.
const candidateUID = 1000

// SandboxSpec turns a challenge into the sandbox it runs in, for one
// attempt with seed: image, user, limits, capabilities, the starter files
// (owned by the candidate so the editor can save them) and the setup script.
func SandboxSpec(ch *challenges.Challenge, seed int64) sandbox.Spec {
	sb := ch.Sandbox
	uid := candidateUID
	if sb.User == "root" {
		uid = 0
	}
	var files []sandbox.File
	for _, f := range ch.StarterFiles() {
		mode := fs.FileMode(f.Mode)
		if mode == 0 {
			mode = 0o644
		}
		files = append(files, sandbox.File{Path: f.Path, Mode: mode, UID: uid, GID: uid, Content: f.Content})
	}
	var vols []sandbox.Volume
	for _, v := range sb.Volumes {
		vols = append(vols, sandbox.Volume{Path: v.Path, Size: int64(v.Size), Inodes: v.Inodes, Mode: uint32(v.Mode)})
	}
	return sandbox.Spec{
		Volumes:     vols,
		Image:       sb.Image,
		User:        sb.User,
		CPUs:        sb.Resources.CPUs,
		Memory:      int64(sb.Resources.Memory),
		Pids:        sb.Resources.Pids,
		Disk:        int64(sb.Resources.Disk),
		Network:     sb.Network,
		CapAdd:      sb.Capabilities,
		Env:         ch.Env(seed),
		ChallengeID: ch.ID,
		TTL:         ch.TimeLimit.D() + 15*time.Minute,
		Files:       files,
		Setup:       ch.SetupScript(),
	}
}

// TargetFor is the grading target of a live sandbox of ch with seed.
func TargetFor(ch *challenges.Challenge, seed int64, sandboxID string) Target {
	return Target{SandboxID: sandboxID, Env: ch.Env(seed)}
}
