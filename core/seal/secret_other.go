//go:build unix && !linux

package seal

// dontDump does nothing where MADV_DONTDUMP does not exist; Free still
// zeroes the memory.
func dontDump(b []byte) error { return nil }
