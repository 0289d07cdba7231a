package assignments

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
)

// sweepBatch bounds how many claims one pass of the loop handles.
const sweepBatch = 50

// freezeTimeout bounds the freeze of one submission (pause, terminals,
// stopping the candidate's processes, copying the changed files out). It
// is detached from the request on purpose: a candidate who closes the tab
// mid-submit must not leave a half-frozen sandbox behind.
const freezeTimeout = 2 * time.Minute

// overdueEvery is how often, at most, the loop looks for take-homes whose
// time is up: terminals refuse new tickets from the deadline on, but an
// open terminal takes input until the freeze (one indexed query).
const overdueEvery = time.Second

// Terminals ends an attempt's terminals at the freeze (implemented by
// *terminal.Hub). Optional: see UseTerminals.
type Terminals interface {
	// Seal refuses the attempt's input and new terminals from now on.
	Seal(attemptID, reason string)
	// CloseAttempt seals and ends the attempt's open terminals, telling
	// their clients reason.
	CloseAttempt(ctx context.Context, attemptID, reason string) int
}

// freezeState serialises the freezes of one submission within this process
// (the request and the loop may both get to it) and keeps what went wrong
// in a freeze done at request time until finalize records it. Freezes of
// different submissions run in parallel: one candidate's seal never waits
// for another's freeze.
type freezeState struct {
	mu       sync.Mutex
	term     Terminals
	locks    map[string]*sync.Mutex // invite -> its freeze
	problems map[string][]string    // invite -> problems of its freeze
}

// lock takes the freeze lock of inviteID and returns its unlock.
func (f *freezeState) lock(inviteID string) func() {
	f.mu.Lock()
	if f.locks == nil {
		f.locks = map[string]*sync.Mutex{}
	}
	l := f.locks[inviteID]
	if l == nil {
		l = &sync.Mutex{}
		f.locks[inviteID] = l
	}
	f.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (f *freezeState) terminals() Terminals {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.term
}

// UseTerminals makes submissions close the attempts' terminals at the
// freeze instant (the server's terminal hub). Call it before Run.
func (s *Service) UseTerminals(t Terminals) {
	s.frz.mu.Lock()
	defer s.frz.mu.Unlock()
	s.frz.term = t
}

// Submit records the candidate's one submission of a take-home and
// hands the freezing (final grading, files, sandbox removal) to the
// background loop. After the deadline it refuses: the clock submits.
func (s *Service) Submit(ctx context.Context, userID, inviteID string) error {
	c, err := s.claimFor(ctx, userID, inviteID)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	ok, err := s.st.RequestSubmit(ctx, inviteID, now, false)
	if err != nil {
		return err
	}
	if !ok {
		c, err = s.st.ClaimByInvite(ctx, inviteID)
		if err != nil {
			return err
		}
		if c.SubmitRequestedAt != nil && !c.Automatic {
			return fmt.Errorf("submitted at %s: %w", c.SubmitRequestedAt.UTC().Format(time.RFC3339), ErrAlreadySubmitted)
		}
		return fmt.Errorf("deadline was %s: %w", c.DeadlineAt.UTC().Format(time.RFC3339), ErrDeadlinePassed)
	}
	s.afterRequest(ctx, userID, c, false, now)
	return nil
}

// afterRequest closes the attempts to further work at once (their
// deadline becomes now, which refuses terminal tickets and Checks), freezes
// them (see freeze) and announces the submission. Grading follows in the
// background loop.
func (s *Service) afterRequest(ctx context.Context, actor string, c *InviteClaim, automatic bool, now time.Time) {
	ats, err := s.st.AttemptsByInvite(ctx, c.InviteID)
	if err != nil {
		s.log.Warn("attempts of submitted invite", "invite", c.InviteID, "err", err)
	}
	for i := range ats {
		if err := s.att.Close(ctx, &ats[i], now); err != nil {
			s.log.Warn("close attempt", "attempt", ats[i].ID, "err", err)
		}
	}
	c.SubmitRequestedAt, c.Automatic = &now, automatic
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), freezeTimeout)
	if problems := s.freeze(fctx, c, ats); len(problems) > 0 {
		s.frz.mu.Lock()
		if s.frz.problems == nil {
			s.frz.problems = map[string][]string{}
		}
		s.frz.problems[c.InviteID] = append(s.frz.problems[c.InviteID], problems...)
		s.frz.mu.Unlock()
	}
	cancel()
	s.audit(ctx, actor, "invite.submit", "invite", c.InviteID, map[string]any{"automatic": automatic})
	if inv, err := s.st.InviteByID(ctx, c.InviteID); err == nil {
		if a, err := s.st.AssignmentByID(ctx, inv.AssignmentID); err == nil {
			s.hooks.emit(ctx, EventSubmitted, s.eventData(a, inv, c, nil))
		}
	}
	s.kick()
}

// Run is the deadline loop and the webhook sender, until ctx ends. It
// expires stale invites, submits overdue take-homes, completes requested
// submissions (also those a stopped server left half done) and delivers
// webhooks with retries. Everything it needs is in the database.
// Overdue take-homes are submitted (and frozen) by their own loop, every
// overdueEvery at most, so a long final grading never delays the freeze of
// a take-home whose time is up.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.hooks.run(ctx)
	}()
	go func() {
		defer wg.Done()
		t := time.NewTicker(min(s.cfg.Interval, overdueEvery))
		defer t.Stop()
		for {
			s.submitOverdue(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.expireInvites(ctx)
		s.completePending(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Sweep does one pass of the deadline loop: expire invites, submit
// overdue take-homes, complete requested submissions (Run does the same
// with two loops; tests call Sweep).
func (s *Service) Sweep(ctx context.Context) {
	s.expireInvites(ctx)
	s.submitOverdue(ctx)
	s.completePending(ctx)
}

func (s *Service) expireInvites(ctx context.Context) {
	if n, err := s.st.ExpireInvites(ctx, s.now().UTC()); err != nil && ctx.Err() == nil {
		s.log.Warn("expire invites", "err", err)
	} else if n > 0 {
		s.log.Info("invites expired", "count", n)
	}
}

// submitOverdue submits (and freezes) the take-homes whose time is up.
func (s *Service) submitOverdue(ctx context.Context) {
	now := s.now().UTC()
	overdue, err := s.st.OverdueClaims(ctx, now, sweepBatch)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("overdue take-homes", "err", err)
	}
	for i := range overdue {
		c := &overdue[i]
		ok, err := s.st.RequestSubmit(ctx, c.InviteID, now, true)
		if err != nil {
			s.log.Warn("automatic submit", "invite", c.InviteID, "err", err)
			continue
		}
		if ok {
			s.log.Info("time is up: submitting automatically", "invite", c.InviteID, "deadline", c.DeadlineAt)
			s.afterRequest(ctx, "", c, true, now)
		}
	}
}

// completePending grades and ends the requested submissions.
func (s *Service) completePending(ctx context.Context) {
	pending, err := s.st.UnfinalizedClaims(ctx, sweepBatch)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("submissions to freeze", "err", err)
	}
	for i := range pending {
		if ctx.Err() != nil {
			return
		}
		c := &pending[i]
		ok, err := s.st.LeaseClaim(ctx, c.InviteID, s.now().UTC(), s.now().Add(s.cfg.ClaimLease).UTC())
		if err != nil || !ok {
			continue // another server has it
		}
		s.finalize(ctx, c)
	}
}

// finalize completes a requested submission: the freeze (done at request
// time; here only for attempts a stopped server left unfrozen), the final
// grading of every active attempt (grading job, reason submit), then the
// attempt ends and its sandbox is removed. It is idempotent: a server
// stopped half way redoes only what is missing.
func (s *Service) finalize(ctx context.Context, c *InviteClaim) {
	s.mu.Lock()
	defer s.mu.Unlock()
	log := s.log.With("invite", c.InviteID)
	ats, err := s.st.AttemptsByInvite(ctx, c.InviteID)
	if err != nil {
		log.Warn("freeze submission", "err", err)
		return
	}
	submittedAt := s.now().UTC()
	if c.SubmitRequestedAt != nil {
		submittedAt = c.SubmitRequestedAt.UTC()
	}
	problems := s.freeze(ctx, c, ats)
	s.frz.mu.Lock()
	problems = append(s.frz.problems[c.InviteID], problems...)
	delete(s.frz.problems, c.InviteID)
	delete(s.frz.locks, c.InviteID) // its request-time freeze is over: RequestSubmit succeeds once
	s.frz.mu.Unlock()
	// Every active attempt is graded a last time and ended, all at once
	// (their gradings run in parallel); the files are kept first where the
	// request-time freeze could not.
	var (
		wg         sync.WaitGroup
		pmu        sync.Mutex
		unfinished bool
	)
	for i := range ats {
		a := &ats[i]
		if a.State != attempts.StateActive {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			keep := func(ctx context.Context) error {
				if _, err := s.st.SubmissionByAttempt(ctx, a.ID); apperr.ErrorCode(err) != apperr.NotFound {
					return nil // kept at the freeze (or the database errs: Finish's End fails too)
				}
				files, diff, fileProblems := s.collect(ctx, a)
				pmu.Lock()
				problems = append(problems, fileProblems...)
				pmu.Unlock()
				raw, _ := json.Marshal(files)
				if _, err := s.st.CreateSubmission(ctx, &Submission{AttemptID: a.ID, Files: string(raw), Diff: diff, Automatic: c.Automatic, SubmittedAt: submittedAt}); err != nil {
					return fmt.Errorf("store submission: %w", err)
				}
				return nil
			}
			ps, err := s.att.Finish(ctx, a, s.cfg.GradeTimeout, keep)
			pmu.Lock()
			defer pmu.Unlock()
			problems = append(problems, ps...)
			if err != nil {
				unfinished = true
				if ctx.Err() == nil {
					log.Warn("finish attempt", "attempt", a.ID, "err", err)
				}
			}
		}()
	}
	wg.Wait()
	if unfinished {
		return // retried on the next pass (or after a restart: the lease lapses)
	}
	if err := s.st.FinalizeClaim(ctx, c.InviteID, s.now().UTC(), strings.Join(problems, "\n")); err != nil {
		log.Warn("finalize submission", "err", err)
		return
	}
	log.Info("submission frozen", "automatic", c.Automatic, "problems", len(problems))
	inv, err := s.st.InviteByID(ctx, c.InviteID)
	if err != nil {
		return
	}
	a, err := s.st.AssignmentByID(ctx, inv.AssignmentID)
	if err != nil {
		return
	}
	ats, _ = s.st.AttemptsByInvite(ctx, c.InviteID)
	s.audit(ctx, "", "invite.graded", "invite", inv.ID, map[string]any{"problems": len(problems)})
	s.hooks.emit(ctx, EventGraded, s.eventData(a, inv, c, ats))
}

// freeze stops work in every active attempt of a submission at the submit
// instant, in this order, and returns what went wrong:
//
//  1. the attempt's terminals are sealed: input is dropped and no terminal
//     opens from now on (the attempt's deadline, already now, refuses new
//     tickets on every server);
//  2. its sandbox is paused (cgroup freezer): nothing in it runs —
//     background loops, setsid'd or environment-scrubbed escapees;
//  3. its terminals are closed (clients are told why) and the candidate's
//     processes are killed (queued: effective at the thaw, before they run
//     again; sandbox.Manager.StopTerminalWork says which);
//  4. the changed files and the diff are copied out and stored as the
//     submission: what the reviewer reads is the submit instant;
//  5. the sandbox is thawed; the final grading runs after (finalize).
//
// Attempts that already have a submission were frozen before and are
// only sealed again. Manual and automatic submissions take this one path.
func (s *Service) freeze(ctx context.Context, c *InviteClaim, ats []attempts.Attempt) []string {
	defer s.frz.lock(c.InviteID)()
	term := s.frz.terminals()
	reason := "this take-home was submitted"
	if c.Automatic {
		reason = "time is up: this take-home was submitted automatically"
	}
	var problems []string
	for i := range ats {
		a := &ats[i]
		if a.State != attempts.StateActive {
			continue
		}
		if term != nil {
			term.Seal(a.ID, reason)
		}
		if a.SandboxID == "" {
			continue
		}
		if _, err := s.st.SubmissionByAttempt(ctx, a.ID); err == nil {
			continue
		} else if apperr.ErrorCode(err) != apperr.NotFound {
			problems = append(problems, fmt.Sprintf("%s: freeze: %v", a.ChallengeID, err))
			continue
		}
		problems = append(problems, s.freezeAttempt(ctx, c, a, term, reason)...)
	}
	return problems
}

// freezeAttempt runs steps 2–5 of freeze for one attempt: the attempts
// service freezes its sandbox (attempts.Service.Freeze) and, while it is
// paused, the terminals close and the submission's files are stored.
func (s *Service) freezeAttempt(ctx context.Context, c *InviteClaim, a *attempts.Attempt, term Terminals, reason string) []string {
	submittedAt := s.now().UTC()
	if c.SubmitRequestedAt != nil {
		submittedAt = c.SubmitRequestedAt.UTC()
	}
	closeTerminals := func(ctx context.Context) {
		if term != nil {
			term.CloseAttempt(ctx, a.ID, reason)
		}
	}
	keep := func(ctx context.Context) []string {
		files, diff, problems := s.collect(ctx, a)
		raw, _ := json.Marshal(files)
		if _, err := s.st.CreateSubmission(ctx, &Submission{AttemptID: a.ID, Files: string(raw), Diff: diff, Automatic: c.Automatic, SubmittedAt: submittedAt}); err != nil {
			s.log.Warn("store submission at the freeze", "invite", c.InviteID, "attempt", a.ID, "err", err) // finalize retries
		}
		return problems
	}
	return s.att.Freeze(ctx, a, closeTerminals, keep)
}

// SubmittedFile is one changed path of a submission (submissions.files
// is a JSON array of these).
type SubmittedFile struct {
	Path     string `json:"path"`
	Kind     string `json:"kind"` // A added, C changed, D deleted (sandbox.Change kinds)
	Editable bool   `json:"editable,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Mode     int64  `json:"mode,omitempty"`
	// ContentBase64 is the file's content when it was kept.
	ContentBase64 string `json:"content_base64,omitempty"`
	// Skipped says why the content was not kept (binary, too large…).
	Skipped string `json:"skipped,omitempty"`
}

// Content decodes the kept content.
func (f SubmittedFile) Content() string {
	b, _ := base64.StdEncoding.DecodeString(f.ContentBase64)
	return string(b)
}

// ignoredPrefixes are paths whose changes say nothing about the work.
var ignoredPrefixes = []string{"/proc", "/sys", "/dev", "/run", "/var/cache", "/var/lib/apt/lists", "/var/log/apt"}

func ignored(p string) bool {
	for _, pre := range ignoredPrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// collect reads the changed files of an attempt's sandbox: the
// challenge's editable files always, other changed regular text files up
// to the size caps; and a unified diff of the editable files against
// their starters (and of added text files against nothing).
func (s *Service) collect(ctx context.Context, a *attempts.Attempt) ([]SubmittedFile, string, []string) {
	var problems []string
	ch, err := s.att.Challenge(a)
	if err != nil {
		return nil, "", []string{fmt.Sprintf("%s: challenge version: %v", a.ChallengeID, err)}
	}
	starters := map[string]challenges.SandboxFile{}
	for _, f := range ch.StarterFiles() {
		starters[path.Clean(f.Path)] = f
	}
	kinds := map[string]string{}
	changes, err := s.sb.Changes(ctx, a.SandboxID)
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: list changed files: %v", a.ChallengeID, err))
	}
	for _, c := range changes {
		if p := path.Clean(c.Path); !ignored(p) {
			kinds[p] = c.Kind
		}
	}
	paths := make([]string, 0, len(kinds)+len(starters))
	for p := range kinds {
		paths = append(paths, p)
	}
	for p := range starters {
		if _, ok := kinds[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Slice(paths, func(i, j int) bool {
		_, ei := starters[paths[i]]
		_, ej := starters[paths[j]]
		if ei != ej {
			return ei // editable files first
		}
		return paths[i] < paths[j]
	})
	var (
		files []SubmittedFile
		diff  strings.Builder
		total int64
		seen  int
	)
	for _, p := range paths {
		st, editable := starters[p]
		if !editable {
			seen++
			if seen > MaxFiles {
				continue
			}
		}
		f := SubmittedFile{Path: p, Kind: kinds[p], Editable: editable}
		if f.Kind == "" {
			f.Kind = "C"
		}
		var content []byte
		if f.Kind != "D" {
			var isFile bool
			content, isFile, err = s.readFile(ctx, a.SandboxID, &f)
			switch {
			case errors.Is(err, sandbox.ErrNoSuchPath):
				f.Kind = "D"
			case err != nil:
				f.Skipped = err.Error()
			case !isFile:
				continue // directories: their files are listed themselves
			}
		}
		if content != nil {
			if total+int64(len(content)) > MaxTotalBytes && !editable {
				f.Skipped = fmt.Sprintf("not kept: the submission's %d KiB cap was reached", MaxTotalBytes>>10)
				content = nil
			} else {
				total += int64(len(content))
				f.ContentBase64 = base64.StdEncoding.EncodeToString(content)
			}
		}
		files = append(files, f)
		switch {
		case editable && f.Skipped == "":
			diff.WriteString(UnifiedDiff("a"+p, "b"+p, string(st.Content), string(content)))
		case f.Kind == "A" && content != nil:
			diff.WriteString(UnifiedDiff("/dev/null", "b"+p, "", string(content)))
		}
	}
	if seen > MaxFiles {
		problems = append(problems, fmt.Sprintf("%s: %d changed paths, only the first %d were looked at", a.ChallengeID, seen, MaxFiles))
	}
	return files, diff.String(), problems
}

// readFile copies one path out of the sandbox; isFile is false for
// directories. Content is nil (with f.Skipped set) for files not kept.
func (s *Service) readFile(ctx context.Context, sandboxID string, f *SubmittedFile) ([]byte, bool, error) {
	rc, err := s.sb.CopyOut(ctx, sandboxID, f.Path, MaxFileBytes)
	if errors.Is(err, sandbox.ErrTooLarge) {
		f.Skipped = fmt.Sprintf("not kept: larger than %d KiB", MaxFileBytes>>10)
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", f.Path, err)
	}
	f.Size, f.Mode = hdr.Size, hdr.Mode
	switch hdr.Typeflag {
	case tar.TypeDir:
		return nil, false, nil
	case tar.TypeSymlink:
		f.Skipped = "symbolic link to " + hdr.Linkname
		return nil, true, nil
	case tar.TypeReg:
	default:
		f.Skipped = "not a regular file"
		return nil, true, nil
	}
	if hdr.Size > MaxFileBytes {
		f.Skipped = fmt.Sprintf("not kept: larger than %d KiB", MaxFileBytes>>10)
		return nil, true, nil
	}
	b, err := io.ReadAll(io.LimitReader(tr, MaxFileBytes))
	if err != nil {
		return nil, true, fmt.Errorf("read %s: %w", f.Path, err)
	}
	if !isText(b) {
		f.Skipped = "binary file: not kept"
		return nil, true, nil
	}
	return b, true, nil
}

func isText(b []byte) bool {
	head := b
	if len(head) > 8<<10 {
		head = head[:8<<10]
	}
	for _, c := range head {
		if c == 0 {
			return false
		}
	}
	return utf8.Valid(b)
}
