// Command room-demo calls pnm over gRPC from Go: it creates a room, checks
// that it is active, gets a join token and verifies it as the participant
// would.
//
//	room-demo -url http://127.0.0.1:8080 -api-key "$PNM_API_KEY" -api-secret "$PNM_API_SECRET"
//
// It prints progress on stderr and one JSON object on stdout: {"ok": true, ...}
// with what the server answered, or {"ok": false, "step", "code", "reason",
// "message"} (exit status 1) when a call is refused.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pnmv1 "github.com/pnm-dev/pnm/gen/go/pnm/v1"
)

type verifyResult struct {
	Status     bool     `json:"status"`
	RoomID     string   `json:"roomId"`
	UserID     string   `json:"userId"`
	NatsWsUrls []string `json:"natsWsUrls"`
}

type result struct {
	OK          bool          `json:"ok"`
	RoomID      string        `json:"roomId,omitempty"`
	Created     bool          `json:"created"`
	RoomActive  bool          `json:"roomActive"`
	TokenIssued bool          `json:"tokenIssued"`
	Verify      *verifyResult `json:"verify,omitempty"`
}

type failure struct {
	OK      bool   `json:"ok"`
	Step    string `json:"step"`
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func main() {
	randomSuffix := make([]byte, 4)
	_, _ = rand.Read(randomSuffix)
	baseURL := flag.String("url", envOr("PNM_URL", "http://127.0.0.1:8080"), "pnm's base URL (env PNM_URL)")
	apiKey := flag.String("api-key", os.Getenv("PNM_API_KEY"), "env PNM_API_KEY")
	apiSecret := flag.String("api-secret", os.Getenv("PNM_API_SECRET"), "env PNM_API_SECRET")
	roomID := flag.String("room", "go-demo-"+hex.EncodeToString(randomSuffix), "room id")
	userID := flag.String("user-id", "alice", "participant's user id")
	name := flag.String("name", "Alice", "participant's name")
	signatureVersion := flag.Int("signature-version", 2, "2: pnm-signature (default); 1: upstream's hash-signature")
	flag.Parse()
	if *apiKey == "" || *apiSecret == "" {
		fmt.Fprintln(os.Stderr, "-api-key and -api-secret (or PNM_API_KEY and PNM_API_SECRET) are required")
		os.Exit(2)
	}

	if *signatureVersion != 1 && *signatureVersion != 2 {
		fmt.Fprintln(os.Stderr, "-signature-version is 1 or 2")
		os.Exit(2)
	}
	conn, err := dial(*baseURL, DialOptions(*apiKey, *apiSecret, *signatureVersion)...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer conn.Close()
	rooms := pnmv1.NewRoomServiceClient(conn)
	participants := pnmv1.NewParticipantServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	roomMetadata := &pnmv1.RoomMetadata{
		RoomTitle:    "Go demo",
		RoomFeatures: &pnmv1.RoomCreateFeatures{AllowWebcams: proto.Bool(true)},
		// Several map entries: their order on the wire is only fixed by deterministic marshalling.
		ExtraData: map[string]string{"client": "go", "purpose": "demo", "zone": "eu", "team": "blue"},
	}
	created, err := rooms.CreateRoom(ctx, &pnmv1.CreateRoomRequest{RoomId: *roomID, Metadata: roomMetadata})
	if err != nil {
		fail("CreateRoom", err)
	}
	fmt.Fprintf(os.Stderr, "CreateRoom: %s\n", created.GetMsg())

	active, err := rooms.IsRoomActive(ctx, &pnmv1.IsRoomActiveRequest{RoomId: *roomID})
	if err != nil {
		fail("IsRoomActive", err)
	}
	fmt.Fprintf(os.Stderr, "IsRoomActive: %v\n", active.GetIsActive())

	user := &pnmv1.UserInfo{Name: *name, UserId: *userID, IsAdmin: true}
	joined, err := rooms.GetJoinToken(ctx, &pnmv1.GetJoinTokenRequest{RoomId: *roomID, UserInfo: user})
	if err != nil {
		fail("GetJoinToken", err)
	}
	fmt.Fprintf(os.Stderr, "GetJoinToken: token of %d characters\n", len(joined.GetToken()))

	// ParticipantService is not signed: the participant's access token goes in Authorization.
	verifyCtx := withAuthorization(ctx, joined.GetToken())
	verified, err := participants.VerifyToken(verifyCtx, &pnmv1.VerifyTokenRequest{})
	if err != nil {
		fail("VerifyToken", err)
	}
	fmt.Fprintf(os.Stderr, "VerifyToken: room %s, user %s\n", verified.GetRoomId(), verified.GetUserId())

	emit(result{
		OK:          true,
		RoomID:      *roomID,
		Created:     created.GetStatus(),
		RoomActive:  active.GetIsActive(),
		TokenIssued: joined.GetToken() != "",
		Verify:      &verifyResult{Status: verified.GetStatus(), RoomID: verified.GetRoomId(), UserID: verified.GetUserId(), NatsWsUrls: verified.GetNatsWsUrls()},
	})
}

func dial(baseURL string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "https":
		port := u.Port()
		if port == "" {
			port = "443"
		}
		return grpc.Dial(u.Hostname()+":"+port, append(opts, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{})))...)
	case "http":
		port := u.Port()
		if port == "" {
			port = "80"
		}
		return grpc.Dial(u.Hostname()+":"+port, append(opts, grpc.WithInsecure())...)
	}
	return nil, fmt.Errorf("unsupported URL scheme %q", u.Scheme)
}

func withAuthorization(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", token)
}

// fail prints the refusal with the FailureReason of the pnm.v1.ErrorDetail every pnm refusal carries, and exits.
func fail(step string, err error) {
	st := status.Convert(err)
	reason := ""
	for _, detail := range st.Proto().GetDetails() {
		if strings.HasSuffix(detail.GetTypeUrl(), "/pnm.v1.ErrorDetail") {
			var errorDetail pnmv1.ErrorDetail
			if proto.Unmarshal(detail.GetValue(), &errorDetail) == nil {
				reason = strings.TrimPrefix(errorDetail.GetReason().String(), "FAILURE_REASON_")
			}
		}
	}
	emit(failure{OK: false, Step: step, Code: upperSnake(st.Code().String()), Reason: reason, Message: st.Message()})
	os.Exit(1)
}

var wordStart = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// upperSnake turns a gRPC code name as Go prints it (Unauthenticated, InvalidArgument) into the protocol's (UNAUTHENTICATED, INVALID_ARGUMENT).
func upperSnake(name string) string {
	return strings.ToUpper(wordStart.ReplaceAllString(name, "${1}_${2}"))
}

func emit(v interface{}) {
	out, _ := json.Marshal(v)
	fmt.Println(string(out))
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
