package store_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// TestModelsMatchSchema proves that every GORM model's columns are exactly
// the columns the migrations create, on both databases.
func TestModelsMatchSchema(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, dialect)
			diffs, err := s.SchemaDrift(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(diffs) > 0 {
				sort.Strings(diffs)
				t.Fatalf("models and migrated schema differ:\n%s", strings.Join(diffs, "\n"))
			}
		})
	}
}

func TestMigrateIsIdempotentAndStatusComplete(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, dialect)
			ctx := context.Background()
			applied, err := s.Migrate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) != 0 {
				t.Fatalf("second migrate applied %d migrations", len(applied))
			}
			st, err := s.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(st) == 0 {
				t.Fatal("no migrations reported")
			}
			for _, m := range st {
				if !m.Applied {
					t.Errorf("migration %d %s not applied", m.Version, m.Name)
				}
			}
			if s.Dialect() != dialect {
				t.Fatalf("dialect %s, want %s", s.Dialect(), dialect)
			}
		})
	}
}

func TestResolveTargetErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, db, want string
	}{
		{"mysql", "mysql://u:p@h/db", `unsupported database "mysql"`},
		{"no db name", "postgres://u:secret@localhost:5432", "needs a host and a database name"},
		{"bad url", "postgres://u:secret@local host/db", "not a valid URL"},
		{"empty sqlite", "sqlite://", "needs a file path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := store.ResolveTarget(store.Options{DB: tc.db})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestOpenUnwritableDataDir(t *testing.T) {
	t.Parallel()
	_, err := store.Open(context.Background(), store.Options{DataDir: "/proc/opsdojo-cannot-exist"})
	if err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("error %v, want a hint about --data-dir", err)
	}
}
