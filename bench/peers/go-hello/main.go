// A Go net/http hello server: a peer bench/run.sh measures Lull against. It answers every request
// with a short text, Content-Length and keep-alive (net/http's defaults otherwise).
//
//	go-hello PORT [HOST]    bind HOST:PORT (host 127.0.0.1)
//	go-hello systemd        adopt the listening socket systemd passed as fd 3 (LISTEN_FDS)
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

var body = []byte("hello from go\n")

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go-hello PORT|systemd [HOST]")
		os.Exit(2)
	}
	var ln net.Listener
	var err error
	if os.Args[1] == "systemd" {
		if n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS")); n < 1 {
			fmt.Fprintln(os.Stderr, "go-hello: systemd: no LISTEN_FDS")
			os.Exit(2)
		}
		// FileListener dups the fd and makes the copy non-blocking for the runtime's poller.
		f := os.NewFile(3, "LISTEN_FD_3")
		ln, err = net.FileListener(f)
		f.Close()
	} else {
		host := "127.0.0.1"
		if len(os.Args) > 2 {
			host = os.Args[2]
		}
		ln, err = net.Listen("tcp", net.JoinHostPort(host, os.Args[1]))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-hello:", err)
		os.Exit(2)
	}
	fmt.Println("go-hello listening on", ln.Addr())
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	err = http.Serve(ln, nil)
	fmt.Fprintln(os.Stderr, "go-hello:", err)
	os.Exit(1)
}
