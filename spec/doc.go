// Package spec defines the SwarmTopology file, parses it strictly and validates it.
package spec
