//! Real network partitions for failover experiments: each process in its own Linux network
//! namespace, joined to the host by a veth pair and routed through the host, so that the host
//! (the tests, the load generator, the CLI) reaches every namespace directly while traffic
//! between two namespaces crosses the host's `FORWARD` chain, where [`Namespaces::cut`] drops it
//! (iptables, both directions) and [`Namespaces::heal`] lets it through again. Nothing is
//! proxied or faked: the processes see a silent network partition, as an operator's would.
//!
//! Needs root, `ip` (iproute2) and iptables (`scripts/prereqs.sh` installs it);
//! [`Namespaces::permitted`] says why not when something is missing. Everything made is
//! removed on drop (the namespaces, their veth pairs and this run's iptables rules).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// One namespace: its name and the address its process listens on.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// The namespace's name (`ip netns`).
    pub name: String,
    /// Its address (the host reaches it directly; other namespaces through the host).
    pub ip: String,
    host_if: String,
}

/// A set of namespaces made for one run; removed when dropped.
#[derive(Debug)]
pub struct Namespaces {
    /// The namespaces, by position.
    pub spaces: Vec<Namespace>,
    subnet: String,
    iptables: String,
    /// Positions cut off now.
    cut: Vec<usize>,
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn iptables_binary() -> Option<String> {
    ["iptables-legacy", "iptables"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .args(["-w", "-S", "FORWARD"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_owned)
}

impl Namespaces {
    /// Whether namespaces and cuts can be made here; the reason when not (not root, no `ip`,
    /// no iptables).
    pub fn permitted() -> Result<(), String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        if uid != "0" {
            return Err("network namespaces need root (this runs as a non-root user)".into());
        }
        if !Command::new("ip")
            .args(["netns", "list"])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Err("`ip netns` (iproute2) is not available".into());
        }
        if iptables_binary().is_none() {
            return Err("iptables is not installed (scripts/prereqs.sh installs it)".into());
        }
        Ok(())
    }

    /// Makes `n` namespaces `<tag>-<i>` with addresses `10.<b>.<i>.2` (`b` from the process id,
    /// so that concurrent runs do not collide), routed through the host.
    pub fn create(tag: &str, n: usize) -> Result<Namespaces> {
        Self::permitted().map_err(anyhow::Error::msg)?;
        let iptables = iptables_binary().context("iptables")?;
        let id = std::process::id();
        let b = 100 + (id % 100);
        let subnet = format!("10.{b}.0.0/16");
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").context("enabling ip_forward")?;
        let mut made = Namespaces {
            spaces: Vec::new(),
            subnet: subnet.clone(),
            iptables,
            cut: Vec::new(),
        };
        // The host forwards between this run's namespaces whatever else its FORWARD policy is.
        run(
            &made.iptables,
            &[
                "-w", "-I", "FORWARD", "-s", &subnet, "-d", &subnet, "-j", "ACCEPT",
            ],
        )?;
        for i in 0..n {
            let name = format!("{tag}-{id}-{i}");
            let host_if = format!("cl{:x}h{i}", id & 0xfffff);
            let ns_if = format!("cl{:x}n{i}", id & 0xfffff);
            let host_ip = format!("10.{b}.{}.1", i + 1);
            let ip = format!("10.{b}.{}.2", i + 1);
            run("ip", &["netns", "add", &name])?;
            made.spaces.push(Namespace {
                name: name.clone(),
                ip: ip.clone(),
                host_if: host_if.clone(),
            });
            run(
                "ip",
                &[
                    "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
                ],
            )?;
            run("ip", &["link", "set", &ns_if, "netns", &name])?;
            run(
                "ip",
                &["addr", "add", &format!("{host_ip}/24"), "dev", &host_if],
            )?;
            run("ip", &["link", "set", &host_if, "up"])?;
            let inside = |args: &[&str]| {
                let mut all = vec!["netns", "exec", &name, "ip"];
                all.extend_from_slice(args);
                run("ip", &all)
            };
            inside(&["addr", "add", &format!("{ip}/24"), "dev", &ns_if])?;
            inside(&["link", "set", &ns_if, "up"])?;
            inside(&["link", "set", "lo", "up"])?;
            inside(&["route", "add", "default", "via", &host_ip])?;
        }
        Ok(made)
    }

    /// A command that runs `program` inside namespace `i`.
    pub fn command(&self, i: usize, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.spaces[i].name]).arg(program);
        c
    }

    fn rules(&self, i: usize) -> [Vec<String>; 2] {
        let ip = &self.spaces[i].ip;
        let rule = |dir: &str| {
            [
                dir,
                ip.as_str(),
                "-m",
                "comment",
                "--comment",
                "caseledger-cut",
                "-j",
                "DROP",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        [rule("-s"), rule("-d")]
    }

    /// Cuts namespace `i` off from every other: the host drops what it would forward to or
    /// from it (silently: no reset, no ICMP). The host still reaches it.
    pub fn cut(&mut self, i: usize) -> Result<()> {
        if self.cut.contains(&i) {
            return Ok(());
        }
        for rule in self.rules(i) {
            let mut args = vec!["-w", "-I", "FORWARD", "1"];
            args.extend(rule.iter().map(String::as_str));
            run(&self.iptables, &args)?;
        }
        self.cut.push(i);
        Ok(())
    }

    /// Lets every namespace reach every other again.
    pub fn heal(&mut self) -> Result<()> {
        for i in std::mem::take(&mut self.cut) {
            for rule in self.rules(i) {
                let mut args = vec!["-w", "-D", "FORWARD"];
                args.extend(rule.iter().map(String::as_str));
                run(&self.iptables, &args)?;
            }
        }
        Ok(())
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        let _ = self.heal();
        let subnet = self.subnet.clone();
        let _ = run(
            &self.iptables,
            &[
                "-w", "-D", "FORWARD", "-s", &subnet, "-d", &subnet, "-j", "ACCEPT",
            ],
        );
        for s in &self.spaces {
            // Deleting the namespace deletes its end of the veth pair, and with it the host's.
            let _ = run("ip", &["netns", "del", &s.name]);
            let _ = run("ip", &["link", "del", &s.host_if]);
        }
    }
}
