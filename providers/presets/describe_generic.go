package presets

// The ready-to-edit blocks of `sessionbridge providers oidc` and
// `providers oauth2`: every key those types accept, the required ones
// set, the optional ones commented out with their defaults.
const (
	oidcBlock = `# Any OpenID Connect provider: its endpoints come from discovery at
# {issuer}/.well-known/openid-configuration. Pick a key for it (corp below:
# [a-z0-9][a-z0-9_-]*) and register this callback URL at the provider:
#   {public_url}/v1/account/sessions/oauth2/callback/corp/{project}
providers:
  corp:
    type: oidc
    display_name: Corp SSO
    issuer: https://login.example.com         # https, or http only on loopback
    client_id: ${CORP_CLIENT_ID}
    client_secret: ${CORP_CLIENT_SECRET}      # empty for a public client
    # scopes: [groups]                        # added to openid email profile
    # auth_style: basic                       # token requests: basic (HTTP Basic) | post
    # pkce: true                              # false only if the provider rejects PKCE
    # refresh: true                           # false if its refresh tokens cannot be redeemed
    # auth_params: {prompt: consent}          # extra authorization-request parameters
    # refresh_rate: 0                         # token requests per second (0: refresh.provider_rate)
    # refresh_burst: 1
    # refresh_concurrency: 0                  # 0: refresh.provider_concurrency
`
	oauth2Block = `# A plain OAuth 2.0 provider: endpoints plus a mapping of its user-info
# answer. Pick a key for it (legacy below: [a-z0-9][a-z0-9_-]*) and register
# this callback URL at the provider:
#   {public_url}/v1/account/sessions/oauth2/callback/legacy/{project}
providers:
  legacy:
    type: oauth2
    display_name: Legacy
    client_id: ${LEGACY_CLIENT_ID}
    client_secret: ${LEGACY_CLIENT_SECRET}
    auth_url: https://legacy.example.com/oauth/authorize
    token_url: https://legacy.example.com/oauth/token
    userinfo_url: https://legacy.example.com/api/me   # fetched with the access token
    # Which user-info field holds what: uid (required, the stable user ID),
    # email, email_verified, name. Dotted paths reach into objects.
    claims: {uid: id, email: email, name: name}
    # userinfo_method: GET                    # GET | POST
    # userinfo_headers: {Accept: application/json}  # may use {client_id} and {client_secret}
    # scopes: [profile]
    # scope_separator: " "                    # one character joining scopes in the authorization URL
    # auth_style: basic                       # token requests: basic (HTTP Basic) | post
    # pkce: true                              # false only if the provider rejects PKCE
    # refresh: true                           # false if it issues no redeemable refresh tokens
    # auth_params: {prompt: consent}
    # refresh_rate: 0
    # refresh_burst: 1
    # refresh_concurrency: 0
`
)
