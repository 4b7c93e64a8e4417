// Command ferretdb-embedded runs FerretDB v1 with its SQLite backend as lilac's
// default store, so that a fresh machine needs no database server.
//
// It prints one JSON line {"uri": "mongodb://..."} on stdout once it listens
// (the port is chosen by the kernel when -listen ends in :0, so there is no
// race for a free port), and exits when its stdin closes: the lilac process
// that started it holds the other end, so the store never outlives it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on")
	dataDir := flag.String("data-dir", "./data", "directory holding the SQLite databases")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatalf("bad -log-level: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		log.Fatalf("creating data directory: %v", err)
	}

	store, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dataDir + "/",
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

	if err := json.NewEncoder(os.Stdout).Encode(map[string]string{"uri": store.MongoDBURI()}); err != nil {
		log.Fatalf("announcing address: %v", err)
	}
	store.Run(ctx)
}
