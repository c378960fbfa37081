package registry

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The expected values below come from AWS's Signature Version 4 test suite
// and the worked IAM example in AWS's documentation (access key
// AKIDEXAMPLE, the documented example secret, 2015-08-30T12:36:00Z). They
// were recomputed independently of this package with Python's hmac and
// hashlib from the canonical requests written out here, and agree with
// the published signatures.
const (
	exampleKeyID  = "AKIDEXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	emptyHash     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

var exampleTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

func TestSigningKey(t *testing.T) {
	tests := []struct {
		date    time.Time
		service string
		want    string
	}{
		{exampleTime, "iam", "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"},
		{time.Date(2012, 2, 15, 0, 0, 0, 0, time.UTC), "iam", "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(signingKey(exampleSecret, tt.date, "us-east-1", tt.service)); got != tt.want {
			t.Errorf("signingKey(%s, %s) = %s, want %s", tt.date.Format("20060102"), tt.service, got, tt.want)
		}
	}
}

func TestSignV4Vectors(t *testing.T) {
	tests := []struct {
		name, method, url, service string
		headers                    map[string]string
		wantCreq                   string
		wantCreqHash               string
		wantSig                    string
	}{
		{
			name: "get-vanilla", method: "GET", url: "https://example.amazonaws.com/", service: "service",
			wantCreq:     "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptyHash,
			wantCreqHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
			wantSig:      "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		},
		{
			name: "get-vanilla-query-order-key-case", method: "GET", url: "https://example.amazonaws.com/?Param2=value2&Param1=value1", service: "service",
			wantCreq:     "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptyHash,
			wantCreqHash: "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
			wantSig:      "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
		},
		{
			name: "post-vanilla", method: "POST", url: "https://example.amazonaws.com/", service: "service",
			wantCreq:     "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptyHash,
			wantCreqHash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
			wantSig:      "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
		},
		{
			name: "iam-list-users", method: "GET", url: "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", service: "iam",
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded;  charset=utf-8"},
			wantCreq: "GET\n/\nAction=ListUsers&Version=2010-05-08\n" +
				"content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n" +
				"content-type;host;x-amz-date\n" + emptyHash,
			wantCreqHash: "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
			wantSig:      "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			signV4(req, nil, awsCredentials{AccessKeyID: exampleKeyID, SecretAccessKey: exampleSecret}, "us-east-1", tt.service, exampleTime)

			creq, signed := canonicalRequest(req, hashHex(nil))
			if creq != tt.wantCreq {
				t.Errorf("canonical request:\n%s\nwant:\n%s", creq, tt.wantCreq)
			}
			if got := hashHex([]byte(creq)); got != tt.wantCreqHash {
				t.Errorf("canonical request hash %s, want %s", got, tt.wantCreqHash)
			}
			scope := "20150830/us-east-1/" + tt.service + "/aws4_request"
			wantSTS := "AWS4-HMAC-SHA256\n20150830T123600Z\n" + scope + "\n" + tt.wantCreqHash
			if got := stringToSign(exampleTime, credentialScope(exampleTime, "us-east-1", tt.service), creq); got != wantSTS {
				t.Errorf("string to sign:\n%s\nwant:\n%s", got, wantSTS)
			}
			wantAuth := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + scope + ", SignedHeaders=" + signed + ", Signature=" + tt.wantSig
			if got := req.Header.Get("Authorization"); got != wantAuth {
				t.Errorf("Authorization:\n%s\nwant:\n%s", got, wantAuth)
			}
		})
	}
}

func TestSignV4SessionTokenAndBody(t *testing.T) {
	body := []byte(`{}`)
	req, _ := http.NewRequest(http.MethodPost, "https://api.ecr.eu-west-1.amazonaws.com/", nil)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", ecrTarget)
	req.Header.Set("User-Agent", "not signed")
	signV4(req, body, awsCredentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: "session"}, "eu-west-1", "ecr", exampleTime)
	if req.Header.Get("X-Amz-Security-Token") != "session" {
		t.Fatal("session token header missing")
	}
	auth := req.Header.Get("Authorization")
	if !strings.Contains(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,") ||
		!strings.Contains(auth, "Credential=AKID/20150830/eu-west-1/ecr/aws4_request") {
		t.Fatalf("Authorization = %s", auth)
	}
	creq, _ := canonicalRequest(req, hashHex(body))
	if !strings.HasSuffix(creq, "\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a") {
		t.Fatalf("payload hash of {} not in canonical request:\n%s", creq)
	}
	// A different body, date or secret changes the signature.
	sig := func(body []byte, when time.Time, secret string) string {
		r, _ := http.NewRequest(http.MethodPost, "https://api.ecr.eu-west-1.amazonaws.com/", nil)
		signV4(r, body, awsCredentials{AccessKeyID: "AKID", SecretAccessKey: secret}, "eu-west-1", "ecr", when)
		return r.Header.Get("Authorization")
	}
	base := sig(body, exampleTime, "secret")
	for name, other := range map[string]string{
		"body":   sig([]byte(`{"registryIds":["1"]}`), exampleTime, "secret"),
		"time":   sig(body, exampleTime.Add(time.Second), "secret"),
		"secret": sig(body, exampleTime, "other"),
	} {
		if other == base {
			t.Errorf("changing the %s did not change the signature", name)
		}
	}
}

func TestAWSEscape(t *testing.T) {
	for in, want := range map[string]string{
		"abc-_.~XYZ09": "abc-_.~XYZ09",
		"a b":          "a%20b",
		"a+b=c/d":      "a%2Bb%3Dc%2Fd",
		"ሴ":            "%E1%88%B4",
	} {
		if got := awsEscape(in); got != want {
			t.Errorf("awsEscape(%q) = %q, want %q", in, got, want)
		}
	}
}
