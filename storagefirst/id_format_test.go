package storagefirst_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestFormatUUIDIsTheCanonicalForm(t *testing.T) {
	u := [16]byte{0x01, 0x92, 0xb3, 0xc4, 0x5d, 0x6e, 0x7f, 0x80, 0x9a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x6a, 0x7b}
	require.Equal(t, "0192b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b", storagefirst.FormatUUID(u))
	require.Equal(t, "00000000-0000-0000-0000-000000000000", storagefirst.FormatUUID([16]byte{}))
}
