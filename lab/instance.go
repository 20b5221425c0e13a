package lab

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// MaxInstance bounds Config.Instance: labs 0..MaxInstance can run side by side on one host.
const MaxInstance = 9

// instance names one lab's host-wide resources. Instance 0 keeps the historical names (stbr0,
// stlabN, stvethN, 10.213.7.0/24); instance k >= 1 puts "st<k>" before the rest, so that no
// instance's name pattern matches another's: "stlab" never matches "st1lab3", and "st1lab"
// never matches "stlab3" or "st2lab3".
type instance int

// bridge is the instance's Linux bridge.
func (k instance) bridge() string {
	if k == 0 {
		return Bridge
	}
	return "stbr" + strconv.Itoa(int(k))
}

func (k instance) netnsPrefix() string {
	if k == 0 {
		return NetnsPrefix
	}
	return "st" + strconv.Itoa(int(k)) + "lab"
}

// vethPrefix is at most 8 characters ("st9veth"), so with a two-digit node number the veth
// name stays within the kernel's 15-character interface name limit.
func (k instance) vethPrefix() string {
	if k == 0 {
		return VethPrefix
	}
	return "st" + strconv.Itoa(int(k)) + "veth"
}

func (k instance) netnsName(i int) string { return k.netnsPrefix() + strconv.Itoa(i) }

func (k instance) vethName(i int) string { return k.vethPrefix() + strconv.Itoa(i) }

// subnet is the instance's private /24, 10.213.(7+k).0/24: the bridge is .1, node N is .10+N.
// Nothing routes out of it, nor from one instance's subnet to another's.
func (k instance) subnet() netip.Prefix {
	a := subnet.Addr().As4()
	a[2] += byte(k)
	return netip.PrefixFrom(netip.AddrFrom4(a), subnet.Bits())
}

// bridgeAddr is the bridge's own address.
func (k instance) bridgeAddr() netip.Addr { return k.subnet().Addr().Next() }

// nodeAddr is node i's address on the bridge.
func (k instance) nodeAddr(i int) netip.Addr {
	a := k.subnet().Addr().As4()
	a[3] = byte(10 + i)
	return netip.AddrFrom4(a)
}

func (k instance) withMask(a netip.Addr) string {
	return netip.PrefixFrom(a, k.subnet().Bits()).String()
}

// forwardRule lets bridged traffic between the instance's nodes pass when br_netfilter sends it
// through the FORWARD chain, whose policy may be DROP (it is wherever a host docker ran). Each
// instance has its own, so that removing one leaves the others' alone.
func (k instance) forwardRule() []string {
	return []string{"FORWARD", "-i", k.bridge(), "-o", k.bridge(), "-j", "ACCEPT"}
}

func (k instance) netnsPattern() *regexp.Regexp {
	return regexp.MustCompile("^" + k.netnsPrefix() + `[0-9]+$`)
}

func (k instance) vethPattern() *regexp.Regexp {
	return regexp.MustCompile("^" + k.vethPrefix() + `[0-9]+$`)
}

// dir is the instance's default lab directory.
func (k instance) dir() string {
	if k == 0 {
		return DefaultDir
	}
	return DefaultDir + "-" + strconv.Itoa(int(k))
}

// lockPath serialises the labs of one instance across test binaries: `go test ./...` runs
// packages in parallel and each instance's names are fixed.
func (k instance) lockPath() string {
	name := "swarmtopo-lab.lock"
	if k != 0 {
		name = "swarmtopo-lab-" + strconv.Itoa(int(k)) + ".lock"
	}
	return filepath.Join(os.TempDir(), name)
}

func (k instance) check() error {
	if k < 0 || k > MaxInstance {
		return fmt.Errorf("%w: instance must be 0..%d, got %d", ErrConfig, MaxInstance, int(k))
	}
	return nil
}

// InstanceDir is the default lab directory of instance k: DefaultDir for 0,
// DefaultDir-<k> otherwise.
func InstanceDir(k int) string { return instance(k).dir() }

// NodeAddr is node i's address on this lab's bridge (its Instance's subnet), known before the
// lab is up.
func (c Config) NodeAddr(i int) string { return instance(c.Instance).nodeAddr(i).String() }
