//! A network lab made of namespaces: named network namespaces, L2 segments
//! (Linux bridges living in a private "switch" namespace) and veth links
//! plugging a namespace into a segment.
//!
//! Everything is owned: dropping a [`Lab`] deletes every namespace it created
//! (and with them their veths, bridges, addresses and IPVS tables), also when
//! a test panics. Nothing is created in the caller's own namespace.
//!
//! Code runs "inside" a namespace through [`Netns::run`]: a short-lived helper
//! thread enters the namespace with `setns(2)` and runs a closure; sockets it
//! creates stay in that namespace afterwards, whichever thread uses them.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ipnetwork::IpNetwork;
use lvskit::tunnel::Rtnl;
use lvskit::{Ipvs, Namespace};

/// Errors of the lab and the demos: a message with its context.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The lab's result type.
pub type Result<T> = std::result::Result<T, Error>;

fn run_cmd(cmd: &str, args: &[&str]) -> Result<String> {
    run_with_input(cmd, args, None)
}

/// Runs `cmd args`, feeding `input` on stdin; stdout, or an error with stderr.
/// `LAB_TRACE=1` prints each command with its duration (process start-up is
/// what makes labs slow in an emulated VM, hence the batches).
fn run_with_input(cmd: &str, args: &[&str], input: Option<&str>) -> Result<String> {
    let t0 = std::time::Instant::now();
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd}: {e}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("feeding {cmd}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for {cmd}: {e}"))?;
    if std::env::var_os("LAB_TRACE").is_some() {
        eprintln!(
            "[lab {:>5} ms] {cmd} {} {}",
            t0.elapsed().as_millis(),
            args.join(" "),
            input.unwrap_or_default().replace('\n', "; ")
        );
    }
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{cmd} {}` failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            input.map(|i| format!("\ninput:\n{i}")).unwrap_or_default()
        )
        .into())
    }
}

/// `ip [-n NS] -batch -` over `lines`: one process for many commands.
fn ip_batch(ns: Option<&str>, lines: &[String]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut args = Vec::new();
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    args.extend(["-batch", "-"]);
    let mut text = lines.join("\n");
    text.push('\n');
    run_with_input("ip", &args, Some(&text)).map(drop)
}

/// Runs `f` on a helper thread that has entered the named namespace
/// (`/run/netns/NAME`); sockets `f` creates belong to that namespace.
pub fn in_namespace<T, F>(name: &str, f: F) -> Result<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let path = Path::new("/run/netns").join(name);
    let file = File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let fd = file.as_raw_fd();
    std::thread::scope(|s| {
        let h = s.spawn(move || -> std::io::Result<T> {
            // SAFETY: setns(2) on this scoped helper thread only; `file`
            // outlives the scope, so `fd` stays valid.
            if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(f())
        });
        match h.join() {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("cannot enter namespace {name}: {e}").into()),
            Err(_) => Err(format!("helper thread in namespace {name} panicked").into()),
        }
    })
}

/// A named network namespace (`ip netns`), deleted when dropped unless a
/// [`Lab`] owns it (the lab deletes all of its namespaces at once).
#[derive(Debug)]
pub struct Netns {
    name: String,
    owned: bool,
}

impl Netns {
    /// Creates namespace `name` (deleting a stale one of that name first),
    /// brings `lo` up and turns reverse-path filtering off: in these labs
    /// replies legitimately come back another way than requests went.
    pub fn new(name: &str) -> Result<Self> {
        let ns = Self::create(name, true)?;
        ns.rtnl()?.set_up("lo", true)?;
        Ok(ns)
    }

    /// Creates it; `lo` is left to the caller.
    fn create(name: &str, owned: bool) -> Result<Self> {
        if Path::new("/run/netns").join(name).exists() {
            let _ = run_cmd("ip", &["netns", "del", name]);
        }
        run_cmd("ip", &["netns", "add", name])?;
        let ns = Netns {
            name: name.into(),
            owned,
        };
        ns.sysctl("net/ipv4/conf/all/rp_filter", "0")?;
        ns.sysctl("net/ipv4/conf/default/rp_filter", "0")?;
        Ok(ns)
    }

    /// Runs many `ip` commands (each line as after `ip -n NAME`) in one process.
    pub fn ip_batch(&self, lines: &[String]) -> Result<()> {
        ip_batch(Some(&self.name), lines)
    }

    /// The namespace's name (under /run/netns).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace file.
    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// `ip -n NAME ARGS`; returns stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run_cmd("ip", &all)
    }

    /// Runs a program inside the namespace (`ip netns exec`); returns stdout.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Result<String> {
        let mut all = vec!["netns", "exec", self.name.as_str(), cmd];
        all.extend_from_slice(args);
        run_cmd("ip", &all)
    }

    /// Runs `f` on a helper thread that has entered this namespace; sockets
    /// `f` creates belong to the namespace.
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        in_namespace(&self.name, f)
    }

    /// Writes a sysctl of this namespace, `key` as a path under /proc/sys
    /// (`net/ipv4/ip_forward`).
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let here = Namespace::Named(self.name.clone());
        lvskit::tunnel::write_sysctl(&here, key, value)
            .map_err(|e| format!("{}: {e}", self.name).into())
    }

    /// Reads a file of this namespace's /proc/net (`ip_vs_conn`): /proc/net
    /// shows the namespace of the thread that opens it.
    pub fn proc_net(&self, file: &str) -> Result<String> {
        let path = Path::new("/proc/thread-self/net").join(file);
        self.run(|| std::fs::read_to_string(&path))?
            .map_err(|e| format!("{}: reading /proc/net/{file}: {e}", self.name).into())
    }

    /// The library's IPVS handle on this namespace.
    pub fn ipvs(&self) -> Result<Ipvs> {
        Ok(Ipvs::open(Namespace::Named(self.name.clone()))?)
    }

    /// The library's rtnetlink handle on this namespace (links, addresses).
    pub fn rtnl(&self) -> Result<Rtnl> {
        Ok(Rtnl::open(Namespace::Named(self.name.clone()))?)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if self.owned {
            let _ = run_cmd("ip", &["netns", "del", &self.name]);
        }
    }
}

/// A set of namespaces and L2 segments, all removed when dropped.
///
/// Namespace names are `PREFIX` + role (`lvs-ipvslb11`, or
/// `e2e1234-0tun-director` in tests, so that labs never collide). Segments
/// are bridges in a private switch namespace.
///
/// Wiring is queued and applied by [`Lab::commit`]: the switch first (one
/// `ip -batch` for bridges and veths: the library creates neither), then
/// every namespace's links up and addresses through the library's
/// rtnetlink handle ([`Rtnl`]), then one `ip -batch` per namespace for the
/// rest (routes: the library has none), in the order each was first given work.
pub struct Lab {
    prefix: String,
    switch: Netns,
    veths: u32,
    queue: Vec<(String, Vec<String>)>,
    /// (namespace, device, addresses): brought up and addressed by `commit`.
    links: Vec<(String, String, Vec<IpNetwork>)>,
    spaces: Vec<String>,
}

impl Lab {
    /// A lab whose namespaces are named `prefix` + role.
    pub fn new(prefix: &str) -> Result<Self> {
        let switch = Netns::create(&format!("{prefix}switch"), false)?;
        let name = switch.name.clone();
        let mut lab = Lab {
            prefix: prefix.into(),
            switch,
            veths: 0,
            queue: Vec::new(),
            links: Vec::new(),
            spaces: vec![name.clone()],
        };
        lab.links.push((name, "lo".into(), Vec::new()));
        Ok(lab)
    }

    /// The namespace prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Creates the namespace for `role` (its `lo` comes up with the next commit).
    pub fn netns(&mut self, role: &str) -> Result<Netns> {
        let mut v = self.netnses(&[role])?;
        v.pop().ok_or_else(|| "no namespace created".into())
    }

    /// Creates the namespaces for `roles` with one `ip` process.
    pub fn netnses(&mut self, roles: &[&str]) -> Result<Vec<Netns>> {
        let mut lines = Vec::new();
        let mut out = Vec::new();
        for role in roles {
            let name = format!("{}{role}", self.prefix);
            if Path::new("/run/netns").join(&name).exists() {
                lines.push(format!("netns del {name}"));
            }
            lines.push(format!("netns add {name}"));
            self.spaces.push(name.clone());
            out.push(Netns { name, owned: false });
        }
        ip_batch(None, &lines)?;
        for ns in &out {
            ns.sysctl("net/ipv4/conf/all/rp_filter", "0")?;
            ns.sysctl("net/ipv4/conf/default/rp_filter", "0")?;
            self.links.push((ns.name.clone(), "lo".into(), Vec::new()));
        }
        Ok(out)
    }

    /// Queues `ip -n NS LINE` for the next commit.
    pub fn ip(&mut self, ns: &str, line: &str) {
        match self.queue.iter_mut().find(|(n, _)| n == ns) {
            Some((_, lines)) => lines.push(line.to_owned()),
            None => self.queue.push((ns.to_owned(), vec![line.to_owned()])),
        }
    }

    /// Queues L2 segment `name`: a bridge in the switch namespace, multicast
    /// flooded (no snooping) so the sync daemon's messages reach everybody.
    pub fn segment(&mut self, name: &str) {
        let sw = self.switch.name.clone();
        self.ip(
            &sw,
            &format!("link add br-{name} type bridge mcast_snooping 0"),
        );
        self.ip(&sw, &format!("link set br-{name} up"));
    }

    /// Queues plugging `ns` into `segment` with a veth whose end in `ns` is
    /// `ifname`, given `addrs` (CIDR) and brought up.
    ///
    /// # Errors
    /// An address that does not parse.
    pub fn plug(&mut self, ns: &Netns, ifname: &str, segment: &str, addrs: &[&str]) -> Result<()> {
        let port = format!("p{}", self.veths);
        self.veths += 1;
        let sw = self.switch.name.clone();
        self.ip(
            &sw,
            &format!(
                "link add {port} type veth peer name {ifname} netns {}",
                ns.name
            ),
        );
        self.ip(&sw, &format!("link set {port} master br-{segment}"));
        self.ip(&sw, &format!("link set {port} up"));
        let nets = addrs
            .iter()
            .map(|a| a.parse().map_err(|e| format!("bad address {a}: {e}")))
            .collect::<std::result::Result<_, _>>()?;
        self.links.push((ns.name.clone(), ifname.into(), nets));
        Ok(())
    }

    /// Applies everything queued: the switch namespace first, then links
    /// and addresses through the library, then the other namespaces' lines.
    pub fn commit(&mut self) -> Result<()> {
        let mut queue = std::mem::take(&mut self.queue);
        queue.sort_by_key(|(ns, _)| *ns != self.switch.name);
        let mut queue = queue.into_iter().peekable();
        if let Some((ns, lines)) = queue.next_if(|(ns, _)| *ns == self.switch.name) {
            ip_batch(Some(&ns), &lines)?;
        }
        for (ns, dev, nets) in std::mem::take(&mut self.links) {
            let rtnl = Rtnl::open(Namespace::Named(ns.clone()))?;
            for net in nets {
                rtnl.add_address(dev.as_str(), net)
                    .map_err(|e| format!("{ns}: {e}"))?;
            }
            rtnl.set_up(dev.as_str(), true)
                .map_err(|e| format!("{ns}: {e}"))?;
        }
        for (ns, lines) in queue {
            ip_batch(Some(&ns), &lines)?;
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let lines: Vec<String> = self
            .spaces
            .iter()
            .filter(|n| Path::new("/run/netns").join(n).exists())
            .map(|n| format!("netns del {n}"))
            .collect();
        // -force: carry on past a namespace that is already gone
        let mut text = lines.join("\n");
        text.push('\n');
        if !lines.is_empty() {
            let _ = run_with_input("ip", &["-force", "-batch", "-"], Some(&text));
        }
    }
}
