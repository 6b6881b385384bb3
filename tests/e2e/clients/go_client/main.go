// A Go net/http client (Go's own crypto/tls) for the end-to-end tests of the Go TLS tap: chat
// completions (OpenAI) or messages (Anthropic), HTTP/2 (ALPN, the default) or HTTP/1.1, streamed or
// not, one call per -usage, optionally all at once from concurrent goroutines over one connection.
// Standard library only. Prints READY before waiting, one JSON line per call, then CONNS <n>
// (distinct TCP connections used).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"time"
)

type usages []string

func (u *usages) String() string     { return strings.Join(*u, ";") }
func (u *usages) Set(v string) error { *u = append(*u, v); return nil }

type result struct {
	Status int    `json:"status"`
	Proto  string `json:"proto"`
	Usage  string `json:"usage"`
	Body   string `json:"body"`
}

func main() {
	port := flag.Int("port", 0, "fake provider port on 127.0.0.1")
	caFile := flag.String("ca", "", "CA certificate (PEM)")
	provider := flag.String("provider", "openai", "openai or anthropic")
	hostFlag := flag.String("host", "", "call this host instead of the provider's (e.g. one not in the AI catalog)")
	http1 := flag.Bool("http1", false, "force HTTP/1.1 (no h2 in ALPN)")
	stream := flag.Bool("stream", false, "streamed response (SSE)")
	parallel := flag.Bool("parallel", false, "all calls at once, one goroutine each")
	waitFile := flag.String("wait-file", "", "print READY, then wait for this file before calling")
	delay := flag.Duration("delay", 0, "wait this long before the first call")
	repeat := flag.Int("repeat", 1, "make the calls this many times (sequential, one connection)")
	quiet := flag.Bool("quiet", false, "print only ELAPSED <seconds> of the calls (benchmarks)")
	var us usages
	flag.Var(&us, "usage", "x-fake-usage of one call (repeatable)")
	flag.Parse()
	if *port == 0 || *caFile == "" || len(us) == 0 {
		fmt.Fprintln(os.Stderr, "usage: go_client -port N -ca FILE -usage U [-usage U ...]")
		os.Exit(2)
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	dialer := &net.Dialer{}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		// Every provider host is the fake one on loopback.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, p, _ := net.SplitHostPort(addr)
			return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", p))
		},
		ForceAttemptHTTP2: !*http1,
		MaxConnsPerHost:   1, // concurrent calls share one connection (HTTP/2 streams)
	}
	if *http1 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		tr.MaxConnsPerHost = 0
	}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}

	if *waitFile != "" {
		fmt.Println("READY", os.Getpid())
		for {
			if _, err := os.Stat(*waitFile); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	time.Sleep(*delay)

	var mu sync.Mutex
	conns := map[string]bool{}
	call := func(u string) result {
		host, path := "api.openai.com", "/v1/chat/completions"
		body := map[string]interface{}{"model": "gpt-4o-mini",
			"messages": []map[string]string{{"role": "user", "content": "Say hello (shadowmeter e2e)."}}}
		if *provider == "anthropic" {
			host, path = "api.anthropic.com", "/v1/messages"
			body["model"] = "claude-sonnet-4-5"
			body["max_tokens"] = 64
		}
		if *stream {
			body["stream"] = true
			if *provider == "openai" {
				body["stream_options"] = map[string]bool{"include_usage": true}
			}
		}
		if *hostFlag != "" {
			host = *hostFlag
		}
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", fmt.Sprintf("https://%s:%d%s", host, *port, path), bytes.NewReader(raw))
		req.Header.Set("content-type", "application/json")
		if *provider == "anthropic" {
			req.Header.Set("x-api-key", "sk-ant-test-fake-0000")
			req.Header.Set("anthropic-version", "2023-06-01")
		} else {
			req.Header.Set("authorization", "Bearer sk-test-fake-key-0000")
		}
		req.Header.Set("x-fake-usage", u)
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			mu.Lock()
			conns[info.Conn.LocalAddr().String()] = true
			mu.Unlock()
		}}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := client.Do(req)
		if err != nil {
			return result{Status: 0, Usage: u, Body: err.Error()}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return result{Status: resp.StatusCode, Proto: resp.Proto, Usage: u, Body: string(b)}
	}

	if *quiet {
		start := time.Now()
		for i := 0; i < *repeat; i++ {
			for _, u := range us {
				if r := call(u); r.Status != 200 {
					fmt.Fprintln(os.Stderr, "call failed:", r.Status, r.Body)
					os.Exit(1)
				}
			}
		}
		fmt.Printf("ELAPSED %.6f\n", time.Since(start).Seconds())
		return
	}

	results := make([]result, len(us))
	if *parallel {
		var wg sync.WaitGroup
		for i, u := range us {
			wg.Add(1)
			go func(i int, u string) {
				defer wg.Done()
				results[i] = call(u)
			}(i, u)
		}
		wg.Wait()
	} else {
		for i, u := range us {
			results[i] = call(u)
		}
	}
	ok := true
	for _, r := range results {
		line, _ := json.Marshal(r)
		fmt.Println(string(line))
		ok = ok && r.Status == 200
	}
	fmt.Println("CONNS", len(conns))
	if !ok {
		os.Exit(1)
	}
}
