package store

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"gorm.io/gorm/schema"
)

// SchemaDrift compares every model's columns with the live table's columns
// and returns one line per difference (empty when they match). serve does
// not call it; the schema test does, on both dialects.
func (s *Store) SchemaDrift(ctx context.Context) ([]string, error) {
	var diffs []string
	for _, m := range allModels() {
		stmt, err := schema.Parse(m, &sync.Map{}, s.db.NamingStrategy)
		if err != nil {
			return nil, fmt.Errorf("parse model %T: %w", m, err)
		}
		table := stmt.Table
		want := map[string]bool{}
		for _, f := range stmt.Fields {
			if f.DBName != "" {
				want[f.DBName] = true
			}
		}
		cols, err := s.db.WithContext(ctx).Migrator().ColumnTypes(table)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", table, err)
		}
		have := map[string]bool{}
		for _, c := range cols {
			have[c.Name()] = true
		}
		if len(have) == 0 {
			diffs = append(diffs, fmt.Sprintf("%s: table missing (model %T)", table, m))
			continue
		}
		for c := range want {
			if !have[c] {
				diffs = append(diffs, fmt.Sprintf("%s.%s: in model %T, not in schema", table, c, m))
			}
		}
		for c := range have {
			if !want[c] {
				diffs = append(diffs, fmt.Sprintf("%s.%s: in schema, not in model %T", table, c, m))
			}
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}
