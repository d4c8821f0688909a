// Package config reads and validates mdsync's TOML configuration.
//
// Every error names the file and line it comes from ("config.toml:12:
// channel.work: unknown maildir \"wrk\""), unknown keys are errors with a
// "did you mean" suggestion, and defaults are filled in so that the rest of
// the program never has to guess.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	toml "github.com/pelletier/go-toml/v2"
)

// Load reads, decodes and validates the file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read config: %v", errors.Unwrap(err))}
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o044 != 0 {
		for _, n := range sortedKeys(c.IMAP) {
			if c.IMAP[n].Password != "" {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s is readable by others (mode %04o) and holds a password (imap.%s); chmod 600 it or use password_command", filepath.Base(path), fi.Mode().Perm(), n))
			}
		}
		for _, n := range sortedKeys(c.POP) {
			if c.POP[n].Password != "" {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s is readable by others (mode %04o) and holds a password (pop.%s); chmod 600 it or use password_command", filepath.Base(path), fi.Mode().Perm(), n))
			}
		}
	}
	return c, nil
}

// Parse decodes and validates config text; path is used for messages and
// to resolve relative paths.
func Parse(path string, data []byte) (*Config, error) {
	c := &Config{File: path}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, decodeError(path, err)
	}
	c.lines = keyLines(data)
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}
