package challenges

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultPollInterval is how often Run looks for edits.
const DefaultPollInterval = 2 * time.Second

// Filter selects challenges in List; zero fields match everything.
type Filter struct {
	Kind       Kind
	Difficulty Difficulty
	Tag        string
}

func (f Filter) match(c *Challenge) bool {
	return (f.Kind == "" || c.Kind == f.Kind) &&
		(f.Difficulty == "" || c.Difficulty == f.Difficulty) &&
		(f.Tag == "" || slices.Contains(c.Tags, f.Tag))
}

// CatalogOptions configures a Catalog.
type CatalogOptions struct {
	// Roots are challenge directories or trees holding them (every
	// directory with a challenge.yaml is a challenge; its subdirectories
	// are not searched further).
	Roots []string
	// Load are the operator's validation options (allowed sandbox images).
	Load LoadOptions
	// Interval between polls in Run (DefaultPollInterval when 0). Polling
	// mtimes and sizes is portable and cheap for hundreds of challenges.
	Interval time.Duration
	Logger   *slog.Logger
	// OnChange, when set, is called (outside the lock) for every challenge
	// loaded with a new version, e.g. to snapshot it in the store.
	OnChange func(ctx context.Context, c *Challenge)
}

// Catalog holds the valid challenges under some roots and reloads them when
// their files change. A bad edit keeps the last good version serving and is
// reported by Problems until it is fixed. Safe for concurrent use.
type Catalog struct {
	opts CatalogOptions
	log  *slog.Logger

	mu       sync.RWMutex
	entries  map[string]*entry // by challenge dir (absolute)
	byID     map[string]*Challenge
	problems map[string]Problems // by challenge dir: load failures
	dups     map[string]Problems // by challenge dir: id already taken
}

type entry struct {
	stamp uint64
	good  *Challenge // last good version, nil if never loaded
}

// NewCatalog returns an empty catalog; call Reload (or Run) to fill it.
func NewCatalog(opts CatalogOptions) *Catalog {
	if opts.Interval <= 0 {
		opts.Interval = DefaultPollInterval
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Catalog{
		opts:     opts,
		log:      log.With("component", "catalog"),
		entries:  map[string]*entry{},
		byID:     map[string]*Challenge{},
		problems: map[string]Problems{},
		dups:     map[string]Problems{},
	}
}

// LoadDir loads one challenge directory with the catalog's options
// (uploads are linted with it, so they meet the same rules as the library).
func (c *Catalog) LoadDir(dir string) (*Challenge, error) { return LoadWith(dir, c.opts.Load) }

// Run reloads once, then every interval until ctx ends; it returns ctx's error.
func (c *Catalog) Run(ctx context.Context) error {
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	for {
		if err := c.Reload(ctx); err != nil {
			c.log.Warn("reload", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Reload scans the roots and (re)loads every challenge whose files changed
// since the last scan. The error reports unreadable roots; problems in
// challenges are in Problems.
func (c *Catalog) Reload(ctx context.Context) error {
	var rootErrs []string
	found := map[string]bool{}
	for _, root := range c.opts.Roots {
		dirs, err := findChallengeDirs(root)
		if err != nil {
			rootErrs = append(rootErrs, fmt.Sprintf("%s: %v", root, err))
		}
		for _, d := range dirs {
			if abs, err := filepath.Abs(d); err == nil {
				found[abs] = true
			}
		}
	}
	var changed []*Challenge
	c.mu.Lock()
	for dir := range c.entries {
		if !found[dir] {
			c.log.Info("challenge removed", "dir", dir)
			delete(c.entries, dir)
			delete(c.problems, dir)
		}
	}
	for _, dir := range slices.Sorted(mapsKeys(found)) {
		if ctx.Err() != nil {
			break
		}
		st, err := stampDir(dir)
		e := c.entries[dir]
		if e == nil {
			e = &entry{}
			c.entries[dir] = e
		}
		if err == nil && e.stamp == st && (e.good != nil || c.problems[dir] != nil) {
			continue
		}
		e.stamp = st
		ch, lerr := c.LoadDir(dir)
		if lerr != nil {
			ps, ok := lerr.(Problems)
			if !ok {
				ps = Problems{{File: dir, Msg: lerr.Error()}}
			}
			c.problems[dir] = ps
			c.log.Warn("challenge has problems; serving the last good version", "dir", dir, "problems", len(ps), "first", ps[0].String(), "has_good", e.good != nil)
			continue
		}
		delete(c.problems, dir)
		if e.good == nil || e.good.Version != ch.Version {
			e.good = ch
			changed = append(changed, ch)
			c.log.Info("challenge loaded", "id", ch.ID, "version", ch.Version[:12], "dir", dir)
		}
	}
	c.rebuildIndex()
	c.mu.Unlock()
	if c.opts.OnChange != nil {
		for _, ch := range changed {
			c.opts.OnChange(ctx, ch)
		}
	}
	if len(rootErrs) > 0 {
		return fmt.Errorf("challenge roots: %s", strings.Join(rootErrs, "; "))
	}
	return nil
}

// rebuildIndex maps ids to challenges; a second directory claiming an id
// is a problem for that directory (the first, by path, keeps it).
func (c *Catalog) rebuildIndex() {
	c.byID = map[string]*Challenge{}
	c.dups = map[string]Problems{}
	for _, dir := range slices.Sorted(mapsKeys(c.entries)) {
		e := c.entries[dir]
		if e.good == nil {
			continue
		}
		if prev, dup := c.byID[e.good.ID]; dup {
			c.dups[dir] = Problems{{File: filepath.Join(dir, SpecFile), Msg: fmt.Sprintf("id %q is already used by %s", e.good.ID, prev.Dir)}}
			continue
		}
		c.byID[e.good.ID] = e.good
	}
}

// Get returns the current version of a challenge.
func (c *Catalog) Get(id string) (*Challenge, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ch, ok := c.byID[id]
	return ch, ok
}

// List returns the challenges matching f, sorted by id.
func (c *Catalog) List(f Filter) []*Challenge {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Challenge
	for _, ch := range c.byID {
		if f.match(ch) {
			out = append(out, ch)
		}
	}
	slices.SortFunc(out, func(a, b *Challenge) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Problems returns what is wrong with each challenge directory that failed
// its last load (keyed by absolute directory).
func (c *Catalog) Problems() map[string]Problems {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]Problems, len(c.problems)+len(c.dups))
	for k, v := range c.dups {
		out[k] = slices.Clone(v)
	}
	for k, v := range c.problems {
		out[k] = append(out[k], v...)
	}
	return out
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// findChallengeDirs lists the challenge directories under root.
func findChallengeDirs(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(p, SpecFile)); err == nil {
			dirs = append(dirs, p)
			return filepath.SkipDir
		}
		return nil
	})
	return dirs, err
}

// stampDir fingerprints a challenge directory by the names, sizes and
// mtimes of its files.
func stampDir(dir string) (uint64, error) {
	h := fnv.New64a()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%o\n", p, info.Size(), info.ModTime().UnixNano(), info.Mode())
		return nil
	})
	return h.Sum64(), err
}
