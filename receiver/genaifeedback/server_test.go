package genaifeedback

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
)

func TestCORSPreflightForBrowserWidgets(t *testing.T) {
	cfg := withAuth(testConfig())
	cfg.ServerConfig.CORS = configoptional.Some(confighttp.CORSConfig{
		AllowedOrigins: []string{"https://app.example.com"},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Idempotency-Key"}, // rs/cors allows only what is listed
	})
	h := start(t, cfg, nil, bearerHost(t))
	preflight := func(origin string) response {
		req, _ := http.NewRequest(http.MethodOptions, h.base+"/v1/feedback", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
		return h.do(req)
	}
	// The preflight carries no credentials and must not need them.
	r := preflight("https://app.example.com")
	if r.status/100 != 2 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), "idempotency-key") {
		t.Fatalf("allowed origin: %d %v", r.status, r.header)
	}
	if r := preflight("https://evil.example"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin allowed: %v", r.header)
	}
	h.token = testToken
	r = h.post("/v1/feedback", batch(endpoints[1].valid("")), "Origin", "https://app.example.com")
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("post: %d %v %s", r.status, r.header, r.raw)
	}
}

func TestTLS(t *testing.T) {
	certPEM, keyPEM, pool := selfSigned(t)
	cfg := testConfig()
	tlsCfg := configtls.NewDefaultServerConfig()
	tlsCfg.CertPem, tlsCfg.KeyPem = configopaque.String(certPEM), configopaque.String(keyPEM)
	cfg.ServerConfig.TLS = configoptional.Some(tlsCfg)
	h := start(t, cfg, nil, nil)
	h.base = strings.Replace(h.base, "http://", "https://", 1)

	saved := http.DefaultClient
	http.DefaultClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer func() { http.DefaultClient = saved }()
	if r := h.post("/v1/evaluations", batch(endpoints[0].valid(""))); r.status != http.StatusOK || len(h.records()) != 1 {
		t.Fatalf("over TLS: %d %s", r.status, r.raw)
	}
	plain, err := http.Post(strings.Replace(h.base, "https://", "http://", 1)+"/v1/evaluations", "application/json", strings.NewReader("[]"))
	if err == nil {
		defer plain.Body.Close()
		if plain.StatusCode != http.StatusBadRequest { // Go's TLS server answers plaintext with 400
			t.Fatalf("plaintext request to a TLS endpoint: %d", plain.StatusCode)
		}
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "genai-feedback-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), pool
}

// TestConfigInsideCollectorConfig decodes the receiver as the collector
// does, nested in a larger map, where confmap calls our Unmarshal.
func TestConfigInsideCollectorConfig(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{"genai_feedback": map[string]any{
		"endpoint": "127.0.0.1:9999", "feedback_path": "/fb", "cors": map[string]any{"allowed_origins": []any{"*"}},
		"rate_limit": map[string]any{"burst": 3},
	}})
	var parent struct {
		R *Config `mapstructure:"genai_feedback"`
	}
	parent.R = createDefaultConfig()
	if err := conf.Unmarshal(&parent); err != nil {
		t.Fatal(err)
	}
	c := parent.R
	if c.ServerConfig.NetAddr.Endpoint != "127.0.0.1:9999" || c.FeedbackPath != "/fb" || c.EvaluationsPath != "/v1/evaluations" ||
		c.RateLimit.Burst != 3 || c.RateLimit.RequestsPerSecond != 50 || !c.ServerConfig.CORS.HasValue() || c.ServerConfig.MaxRequestBodySize != 1<<20 {
		t.Fatalf("decoded: %+v", c)
	}
	bad := confmap.NewFromStringMap(map[string]any{"genai_feedback": map[string]any{"endpoint": "x:1", "rate_limits": map[string]any{}}})
	parent.R = createDefaultConfig()
	if err := bad.Unmarshal(&parent); err == nil || !strings.Contains(err.Error(), "rate_limits") {
		t.Fatalf("misspelt key: %v", err)
	}
}
