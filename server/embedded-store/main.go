// Command ferretdb-embedded runs FerretDB v1 with its SQLite backend as lilac's
// default store, so that a fresh machine needs no database server.
//
// It listens on a Unix socket only (inside the 0700 data directory), so that no
// other local user can reach a store that has no authentication, and prints one
// JSON line {"socket": "..."} on stdout once it listens. It exits when its stdin
// closes: the lilac process that started it holds the other end, so the store
// never outlives it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// removeStaleSocket deletes a socket file left by a store that was killed
// (SIGKILL leaves it behind, and listening on it would fail), but never one a
// live store still answers on.
func removeStaleSocket(socket string) error {
	if _, err := os.Lstat(socket); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if conn, err := net.DialTimeout("unix", socket, time.Second); err == nil {
		conn.Close()
		return errors.New("another store already listens on " + socket)
	}
	return os.Remove(socket)
}

func main() {
	socket := flag.String("socket", "", "Unix socket path to listen on")
	dataDir := flag.String("data-dir", "./data", "directory holding the SQLite databases")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	synchronous := flag.String("synchronous", "full", "SQLite synchronous mode: full (every commit reaches the disk) or normal (a power loss may lose the last commits)")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatalf("bad -log-level: %v", err)
	}
	if *synchronous != "full" && *synchronous != "normal" {
		log.Fatalf("bad -synchronous %q: full or normal", *synchronous)
	}
	if *socket == "" {
		log.Fatal("-socket is required")
	}
	// Each command decodes its documents afresh, so the store makes garbage fast while its live heap stays
	// small: collecting a quarter as often spends about a fifth less CPU under ingest, for about 60 MB more
	// at peak. GOGC in the environment still decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		log.Fatalf("creating data directory: %v", err)
	}
	// A directory made before lilac restricted it keeps its old mode otherwise.
	if err := os.Chmod(*dataDir, 0o700); err != nil {
		log.Fatalf("restricting data directory: %v", err)
	}
	if err := removeStaleSocket(*socket); err != nil {
		log.Fatalf("socket: %v", err)
	}

	// modernc.org/sqlite runs each _pragma on every connection it opens; WAL is FerretDB's default journal.
	store, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: *socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dataDir + "/?_pragma=synchronous(" + *synchronous + ")",
	})
	if err != nil {
		log.Fatalf("starting FerretDB: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()

	// New has bound the socket already: clients may connect from here on.
	if err := json.NewEncoder(os.Stdout).Encode(map[string]string{"socket": *socket}); err != nil {
		log.Fatalf("announcing socket: %v", err)
	}
	// Profiling the store is how its share of a benchmark is explained; the profile is written when the store stops.
	if file := os.Getenv("LILAC_STORE_CPU_PROFILE"); file != "" {
		out, err := os.Create(file)
		if err != nil {
			log.Fatalf("creating CPU profile: %v", err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			log.Fatalf("starting CPU profile: %v", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			out.Close()
		}()
	}
	store.Run(ctx)
}
