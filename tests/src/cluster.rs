//! # A Townhall cluster for the cluster-mode tests
//!
//! [`TownhallCluster::start`] runs a real 3-server nats-server cluster
//! ([`crate::nats::NatsCluster`]), makes the log's stream with the real
//! binary (`townhall cluster init`), and starts `n` real `townhall` nodes on
//! it, each with its own data folder. [`TownhallCluster::assert_converged`]
//! is the divergence check every cluster test ends with: once the nodes
//! have applied the same log sequence, their state digests
//! (`GET /api/admin/digest`) must be identical.

use crate::nats::NatsCluster;
use crate::{TestServer, WAIT};
use std::time::Duration;

pub struct TownhallCluster {
    pub nats: NatsCluster,
    pub nodes: Vec<TestServer>,
    args: Vec<String>,
}

/// What a node reports at `/api/admin/digest`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Digest {
    pub applied_seq: u64,
    pub pos: u64,
    pub pairs: u64,
    pub digest: String,
    /// Each tree's own digest, by tree name: where two nodes differ.
    pub trees: std::collections::BTreeMap<String, String>,
}

impl TownhallCluster {
    pub async fn start(nodes: usize) -> TownhallCluster {
        Self::start_with(nodes, &[]).await
    }

    pub async fn start_with(nodes: usize, extra: &[&str]) -> TownhallCluster {
        Self::start_full(nodes, &[], extra).await
    }

    /// `init` goes to `townhall cluster init` (e.g. retention), `extra` to
    /// every node.
    pub async fn start_full(nodes: usize, init: &[&str], extra: &[&str]) -> TownhallCluster {
        let nats = NatsCluster::start(3).await;
        let urls = nats.urls();
        let out = tokio::process::Command::new(crate::binary())
            .args(["cluster", "init", "--cluster", &urls])
            .args(init)
            .output()
            .await
            .expect("run townhall cluster init");
        assert!(
            out.status.success(),
            "cluster init failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut args = vec!["--cluster".to_owned(), urls];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut c = TownhallCluster {
            nats,
            nodes: Vec::new(),
            args,
        };
        for _ in 0..nodes {
            c.add_node().await;
        }
        c
    }

    /// Start one more node, on a fresh data folder.
    pub async fn add_node(&mut self) -> usize {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let node = TestServer::start_with(&args).await;
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The arguments every node gets (`--cluster URLS` and the extras).
    pub fn node_args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    pub fn node(&self, i: usize) -> &TestServer {
        &self.nodes[i]
    }

    pub async fn digest(&self, i: usize) -> Digest {
        let node = &self.nodes[i];
        let resp = reqwest::Client::new()
            .get(node.http("/api/admin/digest"))
            .bearer_auth(&node.admin_token)
            .send()
            .await
            .expect("digest request");
        assert!(
            resp.status().is_success(),
            "digest of node {i}: {}",
            resp.status()
        );
        resp.json().await.expect("digest body")
    }

    /// Wait until every running node has applied the same log sequence
    /// (nothing is written meanwhile), then assert their digests are equal.
    /// Returns the common digest.
    pub async fn assert_converged(&self) -> Digest {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut all = Vec::new();
            for i in 0..self.nodes.len() {
                if self.nodes[i].is_running() {
                    all.push((i, self.digest(i).await));
                }
            }
            let same_seq = all
                .windows(2)
                .all(|w| w[0].1.applied_seq == w[1].1.applied_seq);
            if same_seq {
                let first = all[0].1.clone();
                for (i, d) in &all {
                    let differ: Vec<&String> = d
                        .trees
                        .iter()
                        .filter(|(k, v)| first.trees.get(*k) != Some(*v))
                        .map(|(k, _)| k)
                        .collect();
                    assert_eq!(
                        d, &first,
                        "node {i} diverged from node {} at log entry {} in trees {differ:?}",
                        all[0].0, first.applied_seq
                    );
                }
                return first;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nodes did not reach the same log entry: {all:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
