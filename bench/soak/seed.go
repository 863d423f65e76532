package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/app"
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// keys are the soak's secrets, shared by the seeder and both processes.
type keys struct {
	session, token, api string
	ring                *seal.Keyring
}

func newKeys() keys {
	rnd := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	k := keys{session: rnd(32), token: rnd(32), api: rnd(24)}
	raw, _ := base64.StdEncoding.DecodeString(k.token)
	k.ring, _ = seal.New([][]byte{raw})
	return k
}

// usersForSessions: sessions are spread over users, 10 each (the default
// per-user cap).
const sessionsPerUser = 10

// seed creates the users and sessions through the store and returns one
// user's ID (for the session check).
func seed(ctx context.Context, o options, k keys) (string, time.Time, error) {
	st, err := app.OpenStore(ctx, &config.Config{Store: config.Store{Driver: o.driver, DSN: o.dsn, MaxConns: o.seedWorkers}})
	if err != nil {
		return "", time.Time{}, err
	}
	defer st.Close()
	start := time.Now()
	first := start.Add(o.seedLead)
	spread := o.ttl - o.before
	nUsers := (o.sessions + sessionsPerUser - 1) / sessionsPerUser
	users := make([]string, nUsers)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range o.seedWorkers {
		wg.Go(func() {
			for {
				u := int(next.Add(1) - 1)
				if u >= nUsers {
					return
				}
				if err := seedUser(ctx, st, k, users, u, o, first, spread, start); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if u%10000 == 0 && u > 0 {
					log.Printf("seeded %d sessions", u*sessionsPerUser)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return "", time.Time{}, firstErr
	}
	return users[0], first, nil
}

// seedUser creates user u and its sessions (one transaction for them).
func seedUser(ctx context.Context, st store.Store, k keys, users []string, u int, o options, first time.Time, spread time.Duration, now time.Time) error {
	user, err := st.UpsertIdentity(ctx, store.IdentityInput{Provider: "soak", ProviderUID: "u" + strconv.Itoa(u)}, now)
	if err != nil {
		return fmt.Errorf("seed user: %w", err)
	}
	users[u] = user.ID
	var batch []*store.Session
	for i := u * sessionsPerUser; i < min((u+1)*sessionsPerUser, o.sessions); i++ {
		s, err := seedSession(k, user.ID, u, i, o, first, spread, now)
		if err != nil {
			return err
		}
		batch = append(batch, s)
	}
	if err := st.CreateSessions(ctx, batch); err != nil {
		return fmt.Errorf("seed sessions: %w", err)
	}
	return nil
}

// seedSession drafts session i, due at its place in the spread.
func seedSession(k keys, userID string, u, i int, o options, first time.Time, spread time.Duration, now time.Time) (*store.Session, error) {
	// Interleave: session i's due time is spread by its index over the
	// whole lifetime, whatever order the workers seed in.
	due := first.Add(time.Duration(int64(spread) * int64(i) / int64(o.sessions)))
	expiry := due.Add(o.before)
	s := store.Session{ID: store.NewID(), UserID: userID, CreatedAt: now, UpdatedAt: now,
		Expire: now.Add(8760 * time.Hour), SecretHash: []byte("soak-" + strconv.Itoa(i)), Provider: "soak",
		ProviderUID: "u" + strconv.Itoa(u), AccessTokenExpiry: expiry, RefreshAt: due}
	var err error
	if s.AccessTokenSealed, err = k.ring.Seal("at.seed."+strconv.Itoa(i), seal.AAD(s.ID, "access")); err != nil {
		return nil, err
	}
	if s.RefreshTokenSealed, err = k.ring.Seal(refreshToken(expiry, strconv.Itoa(i)), seal.AAD(s.ID, "refresh")); err != nil {
		return nil, err
	}
	return &s, nil
}
