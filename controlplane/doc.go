// Package controlplane is Backpack's admin.DOMAIN: developer accounts and sessions, the
// backends registry and its HTTP API, the reconciler that converges a runtime (Swarm or local)
// toward what developers asked for, the authenticated proxy to each backend's private admin
// port, backends' backups (taken, kept, scheduled, restored and copied through that port), and
// — for runtimes that run backends in-process — the host router that serves
// NAME-be.DOMAIN and NAME.DOMAIN on the control plane's own listener.
package controlplane
