package pgshop

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/pgstore"
)

// The shop's own migrations, applied after pgstore's in the same schema. Their
// placeholders ({{schema}}, {{writer}}, {{reader}} as identifiers,
// {{writer_name}}, {{reader_name}} inside string literals) are filled in by
// migrate. The deploy keys its migrations custom resource on these files.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// Roles names the application roles the migrations create (file
// 002_roles.sql): Writer may read and write the store's and the orders tables
// (the create and cancel functions), Reader may only read the orders (the list
// function). Both get rds_iam where it exists (RDS IAM authentication). The zero
// value creates no roles.
type Roles struct {
	Writer string
	Reader string
}

// rolesFile is the migration that needs Roles.
const rolesFile = "002_roles.sql"

var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (r Roles) validate() error {
	for _, n := range []string{r.Writer, r.Reader} {
		if !roleName.MatchString(n) {
			return fmt.Errorf("pgshop: role name %q is not a lower-case SQL identifier", n)
		}
	}
	if r.Writer == r.Reader {
		return fmt.Errorf("pgshop: the writer and reader roles must differ")
	}
	return nil
}

// Migrate applies pgstore's migrations and then the shop's to schema
// (pgstore.SchemaDefault when empty), through pool; with roles (not the zero
// value), it creates them and their grants. A deploy step runs it alone (the
// migrate Lambda function), without a store.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, roles Roles) error {
	if schema == "" {
		schema = pgstore.SchemaDefault
	}
	if _, err := pgstore.Migrate(ctx, pool, schema); err != nil {
		return err
	}
	withRoles := roles != Roles{}
	if withRoles {
		if err := roles.validate(); err != nil {
			return err
		}
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	fill := strings.NewReplacer("{{schema}}", pgx.Identifier{schema}.Sanitize(),
		"{{writer}}", pgx.Identifier{roles.Writer}.Sanitize(), "{{reader}}", pgx.Identifier{roles.Reader}.Sanitize(),
		"{{writer_name}}", roles.Writer, "{{reader_name}}", roles.Reader)
	for _, name := range names {
		if strings.HasSuffix(name, "/"+rolesFile) && !withRoles {
			continue
		}
		sql, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := pool.Exec(ctx, fill.Replace(string(sql))); err != nil {
			return fmt.Errorf("pgshop: migration %s: %w", name, err)
		}
	}
	return nil
}
