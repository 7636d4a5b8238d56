package gateway

// ownProcessGroup: process groups are a Unix matter.
func ownProcessGroup() bool { return false }
