package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/queryclient"
)

const usage = `tracecomb: Honeycomb-compatible OTLP endpoint and AWS X-Ray daemon + API, one store.

Usage:
  tracecomb serve [flags]                 run the server (tracecomb serve -h for flags)
  tracecomb keys create --env NAME [--kind ingest|configuration|management] [--permissions P,…] [--name N] [--aws]
                                          create an API key (or an AWS access key pair)
  tracecomb keys list                     list keys (never their secrets)
  tracecomb keys revoke ID                revoke a key by id (effective within a second)
  tracecomb query [-d DATASET] 'COUNT, P99(duration_ms) WHERE … GROUP BY … LAST 1h'
                                          run a query against a running server
  tracecomb daemon [X-Ray daemon flags]   stand-alone X-Ray daemon forwarding to a server
  tracecomb version

The keys commands work on --data-dir (env TRACECOMB_DATA_DIR, default ./tracecomb-data)
whether or not a server is running on it.
`

// Version is the build's version, set with -ldflags "-X ...app.Version=v1.2.3".
var Version = "dev"

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], stdout, stderr)
	case "keys":
		err = keysCmd(args[1:], stdout, stderr)
	case "query":
		err = queryclient.RunCLI(ctx, args[1:], stdout, stderr)
	case "daemon":
		privateFiles() // its log file (-f)
		err = daemonCmd(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "tracecomb", Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "tracecomb: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "tracecomb:", err)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "tracecomb:", err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	logger := cfg.NewLogger(os.Stderr)
	privateFiles()
	return Run(ctx, cfg, logger, stdout)
}

func keysCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("keys: want create, list or revoke")}
	}
	dataDir := DefaultConfig().DataDir
	if v, ok := os.LookupEnv("TRACECOMB_DATA_DIR"); ok {
		dataDir = v
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&dataDir, "data-dir", dataDir, "data directory (env TRACECOMB_DATA_DIR)")
	var stateURL string // its password is not shown as the default in -h
	fs.StringVar(&stateURL, "state-url", "", stateURLUsage+" (env TRACECOMB_STATE_URL)")
	if v, ok := os.LookupEnv("TRACECOMB_STATE_URL"); ok {
		stateURL = v
	}
	env := fs.String("env", auth.DefaultEnv, "environment of the new key (created if missing)")
	name := fs.String("name", "", "a label for the new key")
	kind := fs.String("kind", string(auth.KindIngest), "ingest (sends data), configuration (the API: see --permissions) or management (the team's /2 API)")
	perms := fs.String("permissions", "", "a configuration key's permissions, comma-separated: "+permissionList()+" (default: all)")
	aws := fs.Bool("aws", false, "create an AWS access key pair for SigV4-signed X-Ray API calls")
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	privateFiles() // the registry it may create holds every key
	reg, closeReg, err := openKeyRegistry(context.Background(), dataDir, stateURL)
	if err != nil {
		return err
	}
	defer closeReg()
	switch args[0] {
	case "create":
		if *aws {
			rec, err := reg.CreateAWSKey(*env)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Environment: %s\nAWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", rec.Env, rec.AccessKeyID, rec.SecretAccessKey)
			return nil
		}
		access, err := auth.ParsePermissions(*perms)
		if err != nil {
			return usageError{err}
		}
		spec := auth.KeySpec{Env: *env, Name: *name, Kind: auth.KeyKind(*kind), Access: access}
		if spec.Kind == auth.KindManagement {
			spec.Env = "" // a team key
		}
		rec, secret, err := reg.CreateKey(spec)
		if err != nil {
			return usageError{err}
		}
		if rec.Kind == auth.KindManagement {
			fmt.Fprintf(stdout, "Team key:    management (the /2 API: Authorization: Bearer <key>)\nKey id:      %s\nKey (shown once): %s\n", rec.ID, secret)
			return nil
		}
		fmt.Fprintf(stdout, "Environment: %s\nKind:        %s\nKey id:      %s\nKey (shown once): %s\n", rec.Env, rec.Kind, rec.ID, secret)
		return nil
	case "list":
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tENV\tNAME\tCREATED\tSTATUS")
		for _, k := range reg.Keys() {
			kind := string(k.Kind)
			if k.Kind == "" {
				kind = "any (may do everything)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, kind, k.Env, k.Name, k.CreatedAt.Format(time.RFC3339), status(k.RevokedAt))
		}
		for _, k := range reg.AWSKeys() {
			fmt.Fprintf(tw, "%s\taws\t%s\t\t%s\t%s\n", k.AccessKeyID, k.Env, k.CreatedAt.Format(time.RFC3339), status(k.RevokedAt))
		}
		return tw.Flush()
	case "revoke":
		if len(positional) != 1 {
			return usageError{errors.New("keys revoke: want exactly one key id")}
		}
		if err := reg.Revoke(positional[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Revoked %s\n", positional[0])
		return nil
	}
	return usageError{fmt.Errorf("keys: unknown subcommand %q", args[0])}
}

func status(revoked *time.Time) string {
	if revoked != nil {
		return "revoked " + revoked.Format(time.RFC3339)
	}
	return "active"
}

// parseInterspersed parses flags that may come before or after positional
// arguments (`keys revoke ID --data-dir d` as well as `keys revoke --data-dir d ID`).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func permissionList() string {
	var names []string
	for _, p := range auth.Permissions() {
		names = append(names, string(p))
	}
	return strings.Join(names, ",")
}
