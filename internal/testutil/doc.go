// Package testutil holds small helpers shared by the tests of several packages of this
// module. It is imported only from _test.go files.
package testutil
