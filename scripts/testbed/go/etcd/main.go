// Command etcd is a thin wrapper over etcd's own main, so the test bed can
// build a current etcd from the Go module proxy alone.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
