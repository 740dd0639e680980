package pgshop

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// An empty schema is pgstore.SchemaDefault for the orders table too, as for the
// store's tables and the migrations, which create the table there.
func TestOrdersTableInTheDefaultSchema(t *testing.T) {
	require.Equal(t, `"storagefirst"."orders"`, NewTable(nil, "").table)
	require.Equal(t, `"pizza"."orders"`, NewTable(nil, "pizza").table)
}
