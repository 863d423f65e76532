package app

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/httpapi"
	"github.com/sessionbridge/sessionbridge/templates"
)

// pages loads what the browser pages need from branding.*: the templates
// (embedded, then the operator's overrides) and the logo file.
func pages(cfg *config.Config) (*template.Template, httpapi.Branding, error) {
	b := httpapi.Branding{AppName: cfg.Branding.AppName, PrimaryColor: cfg.Branding.PrimaryColor}
	tmpl, err := templates.ParseWithOverrides(cfg.Branding.TemplatesDir)
	if err != nil {
		return nil, b, fmt.Errorf("branding.templates_dir: %w", err)
	}
	if cfg.Branding.Logo != "" {
		if b.Logo, err = os.ReadFile(cfg.Branding.Logo); err != nil {
			return nil, b, fmt.Errorf("branding.logo: %w", err)
		}
		if len(b.Logo) > config.MaxLogoBytes {
			return nil, b, fmt.Errorf("branding.logo: %s is larger than %d bytes", cfg.Branding.Logo, config.MaxLogoBytes)
		}
		b.LogoType = config.LogoTypes[strings.ToLower(filepath.Ext(cfg.Branding.Logo))]
	}
	return tmpl, b, nil
}

// CheckPages reports whether the page templates, with the overrides of
// branding.templates_dir, parse and the logo can be read (`check`).
func CheckPages(cfg *config.Config) error {
	_, _, err := pages(cfg)
	return err
}
