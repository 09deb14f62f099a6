package app

import (
	"encoding/xml"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestScaleOutCompose: deploy/scale-out/compose.yaml parses, its three
// tracecomb nodes run on the replicated ClickHouse cluster and the
// PostgreSQL state with settings serve accepts, only the load balancer
// publishes ports (on the host's loopback), and the cluster
// configuration it mounts is XML naming two shards of two replicas with
// internal replication, Keeper and the macros. (Docker is not run here.)
func TestScaleOutCompose(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/scale-out/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Compose's ${VAR:-default}, with the defaults.
	raw = regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`).ReplaceAll(raw, []byte("$1"))
	var c struct {
		Services map[string]struct {
			Environment map[string]string
			Ports       []string
			Volumes     []string
		}
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"tracecomb1", "tracecomb2", "tracecomb3"} {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		env := s.Environment
		cfg := DefaultConfig()
		cfg.StateURL = env["TRACECOMB_STATE_URL"]
		cfg.Store = StoreConfig{Kind: env["TRACECOMB_STORE"], ClickHouseURL: env["TRACECOMB_CLICKHOUSE_URL"], ClickHouseDatabase: env["TRACECOMB_CLICKHOUSE_DATABASE"],
			ClickHouseCluster: env["TRACECOMB_CLICKHOUSE_CLUSTER"], ClickHouseShardURLs: env["TRACECOMB_CLICKHOUSE_SHARD_URLS"],
			ClickHouseReplicated: env["TRACECOMB_CLICKHOUSE_REPLICATED"] == "true"}
		if cfg.Store.Kind != StoreClickHouse || cfg.Store.ClickHouseCluster != "tracecomb" || !cfg.Store.ClickHouseReplicated ||
			len(cfg.Store.shardURLs()) != 4 || cfg.StateURL == "" {
			t.Errorf("%s: store %+v, state %q", name, cfg.Store, cfg.StateURL)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if len(s.Ports) != 0 {
			t.Errorf("%s publishes %v: only the load balancer should", name, s.Ports)
		}
	}
	for _, p := range c.Services["lb"].Ports {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("the load balancer publishes %s beyond the host's loopback", p)
		}
	}
	for _, name := range []string{"ch1", "ch2", "ch3", "ch4", "keeper", "postgres"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no service %s", name)
		}
	}
	x, err := os.ReadFile("../../deploy/scale-out/clickhouse/cluster.xml")
	if err != nil {
		t.Fatal(err)
	}
	var cl struct {
		Shards []struct {
			Internal bool     `xml:"internal_replication"`
			Hosts    []string `xml:"replica>host"`
		} `xml:"remote_servers>tracecomb>shard"`
		Keeper string `xml:"zookeeper>node>host"`
		Shard  struct {
			FromEnv string `xml:"from_env,attr"`
		} `xml:"macros>shard"`
		Replica struct {
			FromEnv string `xml:"from_env,attr"`
		} `xml:"macros>replica"`
	}
	if err := xml.Unmarshal(x, &cl); err != nil || len(cl.Shards) != 2 || strings.Join(cl.Shards[0].Hosts, ",") != "ch1,ch2" ||
		strings.Join(cl.Shards[1].Hosts, ",") != "ch3,ch4" || !cl.Shards[0].Internal || !cl.Shards[1].Internal {
		t.Errorf("cluster.xml: %+v, %v; want shards ch1,ch2 and ch3,ch4 with internal replication", cl, err)
	}
	if cl.Keeper != "keeper" || cl.Shard.FromEnv != "CH_SHARD" || cl.Replica.FromEnv != "CH_REPLICA" {
		t.Errorf("cluster.xml: Keeper %q, macros from %q and %q", cl.Keeper, cl.Shard.FromEnv, cl.Replica.FromEnv)
	}
	// Each replica's macros: its shard in remote_servers, its own name.
	for i, shard := range cl.Shards {
		for _, h := range shard.Hosts {
			env := c.Services[h].Environment
			if env["CH_SHARD"] != fmt.Sprintf("%02d", i+1) || env["CH_REPLICA"] != h {
				t.Errorf("%s: CH_SHARD %q, CH_REPLICA %q", h, env["CH_SHARD"], env["CH_REPLICA"])
			}
		}
	}
}
