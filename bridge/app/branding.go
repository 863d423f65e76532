package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/httpapi"
)

// branding turns branding.* into the HTTP layer's Branding, reading the
// logo file; the templates (and branding.templates_dir) are httpapi's to
// parse.
func branding(cfg *config.Config) (httpapi.Branding, error) {
	b := httpapi.Branding{AppName: cfg.Branding.AppName, PrimaryColor: cfg.Branding.PrimaryColor,
		TemplatesDir: cfg.Branding.TemplatesDir}
	if cfg.Branding.Logo != "" {
		var err error
		if b.Logo, err = os.ReadFile(cfg.Branding.Logo); err != nil {
			return b, fmt.Errorf("branding.logo: %w", err)
		}
		if len(b.Logo) > config.MaxLogoBytes {
			return b, fmt.Errorf("branding.logo: %s is larger than %d bytes", cfg.Branding.Logo, config.MaxLogoBytes)
		}
		b.LogoType = config.LogoTypes[strings.ToLower(filepath.Ext(cfg.Branding.Logo))]
	}
	return b, nil
}

// CheckPages reports whether the page templates, with the overrides of
// branding.templates_dir, parse and the logo can be read (`check`).
func CheckPages(cfg *config.Config) error {
	b, err := branding(cfg)
	if err != nil {
		return err
	}
	_, err = httpapi.ParseTemplates(b.TemplatesDir)
	return err
}
