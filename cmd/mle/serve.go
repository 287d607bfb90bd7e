package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/mle-runtime/mle/core/serve"
)

// cmdServe runs the inference server until SIGTERM or SIGINT, then drains:
// readiness turns false, new inference requests get 503, requests in
// flight finish (up to --drain-timeout), models are released.
func cmdServe(args []string, w, ew io.Writer) (bool, error) {
	fs, _ := newFlags("serve", w)
	repo := fs.String("repository", "", "model repository: DIR/<model>/<version>/model.mle, optional DIR/<model>/config.json (required)")
	listen := fs.String("listen", "127.0.0.1:8000", "HTTP address, HOST:PORT (port 0: any free port; the address is logged)")
	grpcListen := fs.String("grpc-listen", "", "also serve gRPC (inference.GRPCInferenceService) on HOST:PORT")
	poll := fs.Duration("poll-interval", serve.DefaultPollInterval, "how often the repository is scanned for new, changed and removed versions (0: only at start)")
	threads := fs.Int("threads", 0, "intra-op threads per model (0: one per CPU)")
	sessions := fs.Int("max-sessions", 0, "runs of one model version at once (0: one per CPU)")
	maxBody := fs.Int64("max-body-bytes", serve.DefaultMaxBodyBytes, "largest request body, also after decompression (413 beyond)")
	timeout := fs.Duration("request-timeout", serve.DefaultRequestTimeout, "longest time from a request's arrival to its result (504 beyond; 0: none)")
	cacheBytes := fs.Int64("model-cache-bytes", 0, "load versions on their first request and keep at most this many bytes of model files loaded, evicting the least recently used (0: keep every selected version loaded)")
	resultBytes := fs.Int64("result-cache-bytes", 0, "keep inference results under this many bytes and answer repeated requests from them (0: off)")
	inflight := fs.Int("max-inflight", serve.DefaultMaxInflight, "inference requests served at once (429 beyond)")
	tokenFile := fs.String("auth-token-file", "", "file holding a bearer token every request but the health checks must carry")
	cert := fs.String("tls-cert", "", "TLS certificate chain (PEM); with --tls-key, serve HTTPS")
	key := fs.String("tls-key", "", "TLS private key (PEM)")
	drain := fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	sec := addSecFlags(fs, true)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return false, err
	}
	if len(pos) != 0 {
		return false, fmt.Errorf("%w: serve takes no positional arguments (got %q)", errUsage, pos[0])
	}
	if *repo == "" {
		return false, fmt.Errorf("%w: --repository DIR is required", errUsage)
	}
	if (*cert == "") != (*key == "") {
		return false, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	if *timeout < 0 || *poll < 0 || *drain < 0 {
		return false, fmt.Errorf("%w: durations must not be negative", errUsage)
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return false, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, *level)
	}
	if err := sec.load(); err != nil {
		return false, err
	}
	log := slog.New(slog.NewJSONHandler(ew, &slog.HandlerOptions{Level: lv}))
	opts := serve.Options{Repository: *repo, PollInterval: *poll, Threads: *threads, MaxSessions: *sessions,
		MaxBodyBytes: *maxBody, RequestTimeout: *timeout, MaxInflight: *inflight, ModelCacheBytes: *cacheBytes, ResultCacheBytes: *resultBytes, Key: sec.key,
		TrustedKeys: sec.trusted, RequireSignature: sec.requireSig, Logger: log}
	if *poll == 0 {
		opts.PollInterval = -1
	}
	if *timeout == 0 {
		opts.RequestTimeout = -1
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return false, fmt.Errorf("--auth-token-file: %w", err)
		}
		opts.AuthToken = strings.TrimSpace(string(b))
		if opts.AuthToken == "" {
			return false, fmt.Errorf("--auth-token-file %s is empty", *tokenFile)
		}
	}
	var tlsConfig *tls.Config
	var ln net.Listener
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return false, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	ln, err = net.Listen("tcp", *listen)
	if err != nil {
		return false, fmt.Errorf("--listen: %w", err)
	}
	var gln net.Listener
	if *grpcListen != "" {
		if gln, err = net.Listen("tcp", *grpcListen); err != nil {
			ln.Close()
			return false, fmt.Errorf("--grpc-listen: %w", err)
		}
	}
	srv, err := serve.New(opts)
	if err != nil {
		ln.Close()
		if gln != nil {
			gln.Close()
		}
		return false, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 1 << 20, TLSConfig: tlsConfig, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 2)
	go func() { served <- hs.Serve(ln) }()
	var gs *grpc.Server
	if gln != nil {
		var extra []grpc.ServerOption
		if tlsConfig != nil {
			extra = append(extra, grpc.Creds(credentials.NewTLS(tlsConfig)))
		}
		gs = srv.GRPCServer(extra...)
		go func() { served <- gs.Serve(gln) }()
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	log.Info("listening", "addr", ln.Addr().String(), "protocol", scheme, "repository", *repo)
	if gln != nil {
		log.Info("listening", "addr", gln.Addr().String(), "protocol", "grpc")
	}
	select {
	case err = <-served: // a listener failed: stop the other one too
		_ = hs.Close()
		if gs != nil {
			gs.Stop()
		}
	case <-ctx.Done():
		log.Info("draining", "timeout", drain.String())
		srv.Drain()
		sctx, cancel := context.WithTimeout(context.Background(), *drain)
		var wg sync.WaitGroup
		if gs != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stopped := make(chan struct{})
				go func() { gs.GracefulStop(); close(stopped) }()
				select {
				case <-stopped:
				case <-sctx.Done():
					gs.Stop()
				}
			}()
		}
		if err := hs.Shutdown(sctx); err != nil {
			log.Warn("drain timed out; closing the connections left", "error", err)
			_ = hs.Close()
		}
		wg.Wait()
		cancel()
	}
	srv.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return false, err
	}
	log.Info("stopped")
	return false, nil
}
