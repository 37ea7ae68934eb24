# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""SaaS credentials: chat, payments, e-mail, monitoring, productivity and hosting platforms."""

from __future__ import annotations

from cnsec.data.scan.detectors import Detector
from cnsec.data.scan.detectors._validators import B, E
from cnsec.model.severity import Severity as S

DETECTORS = (
    Detector(
        id="slack-token", title="Slack token", severity=S.HIGH,
        keywords=("xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xapp-"),
        pattern=B + r"(?P<secret>xox[bparse](?:\.xox[bp])?-[0-9A-Za-z\-]{10,}|xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{20,})",
        reveal=5, min_entropy=3.0,
        examples=("SLACK_BOT_TOKEN=xoxb-2948172605-7730219846153-Zk3J9xQpL0aB7cD2eF4gH6iJ",)),
    Detector(
        id="slack-webhook", title="Slack incoming webhook URL", severity=S.MEDIUM, keywords=("hooks.slack.com/",),
        pattern=r"(?P<secret>https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_]{20,})",
        reveal=23,
        examples=('"hook": "https://hooks.slack.com/services/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"',)),
    Detector(
        id="discord-bot-token", title="Discord bot token", severity=S.HIGH, keywords=(),
        anchor=r"[MN][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.",
        pattern=B + r"(?P<secret>[MN][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})" + E,
        min_entropy=4.0,
        examples=("MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.E2-E4_.Zig9V5mpMk-JybgCFvqSfgY9EoqWjkA5O_qDje",)),
    Detector(
        id="discord-webhook", title="Discord webhook URL", severity=S.MEDIUM,
        keywords=("discord.com/api/webhooks/", "discordapp.com/api/webhooks/"),
        pattern=r"(?P<secret>https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_\-]{60,})",
        reveal=20,
        examples=("https://discordapp.com/api/webhooks/148392840000482200/ihUFAgIi-OsnNHsjJBpvzkzZOicbe0R2UkWo1nv"
                  "OnkLmGbh8KyRVQ1aZfzAZKa8ukCr",)),
    Detector(
        id="telegram-bot-token", title="Telegram bot token", severity=S.HIGH, keywords=(),
        anchor=r"\d{8,10}:AA",
        pattern=r"(?<![\d])(?P<secret>\d{8,10}:AA[0-9A-Za-z_\-]{33})" + E,
        examples=("508627689:AAEuLPKs-EhrjrYGnz60bnYNZqakf6HJxc0",)),
    Detector(
        id="stripe-key", title="Stripe secret or restricted key", severity=S.CRITICAL,
        keywords=("sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"),
        pattern=B + r"(?P<secret>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,}|whsec_[A-Za-z0-9+/]{32,})" + E,
        reveal=8, examples=("STRIPE_KEY=sk_live_51Hx3J9xQpL0aB7cD2eF4gH6i",)),
    Detector(
        id="stripe-publishable-key", title="Stripe publishable key", severity=S.LOW,
        keywords=("pk_live_", "pk_test_"),
        pattern=B + r"(?P<secret>pk_(?:live|test)_[0-9A-Za-z]{24,})" + E, reveal=8,
        description="Publishable keys are meant for browsers; reported (low) so an inventory of the account's "
                    "keys is complete, never as a leak.",
        examples=("pk_test_Tph4NiI7TYooMQaujxvdEDq5",)),
    Detector(
        id="twilio-key", title="Twilio API key or account SID", severity=S.HIGH, keywords=(),
        anchor=r"(?:SK[0-9a-fA-F]{32}|AC[0-9a-f]{32})",
        pattern=B + r"(?P<secret>SK[0-9a-fA-F]{32}|AC[0-9a-f]{32})" + E, min_entropy=3.0,
        examples=("SK4D2F64E2A108CD72F648B1984C3B5A13",)),
    Detector(
        id="sendgrid-api-key", title="SendGrid API key", severity=S.HIGH, keywords=(),
        anchor=r"SG\.[A-Za-z0-9_\-]{16}",
        pattern=B + r"(?P<secret>SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64})" + E, reveal=3,
        examples=("SENDGRID_API_KEY=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",)),
    Detector(
        id="mailgun-api-key", title="Mailgun API key", severity=S.HIGH, keywords=("key-",),
        anchor=r"[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}",
        pattern=B + r"(?P<secret>key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})" + E,
        min_entropy=3.0, examples=("key-a25a4ac62a074cd52c668c6b9937cf40",)),
    Detector(
        id="mailchimp-api-key", title="Mailchimp API key", severity=S.HIGH, keywords=(),
        anchor=r"[0-9A-Za-z]{32}-us\d",
        pattern=B + r"(?P<secret>[0-9A-Za-z]{32}-us\d{1,2})" + E, min_entropy=3.5,
        examples=('mailchimp = "LRINSm5Vdi9BMCzCWSJ8M3TMysUHwDzB-us36"',)),
    Detector(
        id="brevo-api-key", title="Brevo (Sendinblue) API key", severity=S.HIGH, keywords=("xkeysib-",),
        pattern=B + r"(?P<secret>xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})" + E, reveal=8,
        examples=("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",)),
    Detector(
        id="shopify-token", title="Shopify access token", severity=S.HIGH,
        keywords=("shpat_", "shpss_", "shpca_", "shppa_"),
        pattern=B + r"(?P<secret>shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32})" + E, reveal=6,
        examples=('"shopyfy_k": "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",',)),
    Detector(
        id="square-token", title="Square access token or OAuth secret", severity=S.HIGH,
        keywords=("eaaa", "sq0atp-", "sq0csp-", "sq0idp-"),
        pattern=B + r"(?P<secret>EAAA[A-Za-z0-9_\-]{60}|sq0(?:atp|csp|idp)-[A-Za-z0-9_\-]{22,43})" + E,
        reveal=4, examples=("sq0atp-GIREOGICR0CKLE12W45A78",)),
    Detector(
        id="paypal-braintree-token", title="PayPal Braintree access token", severity=S.CRITICAL,
        keywords=("access_token$production$",),
        pattern=r"(?P<secret>access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32})", reveal=24,
        examples=("access_token$production$gireogi121451781$abcaeaabadef01134517891121451781",)),
    Detector(
        id="facebook-access-token", title="Facebook / Meta access token", severity=S.HIGH,
        keywords=("eaab", "eaac", "eaad", "eaag"),
        anchor=r"\d{15,16}\|[A-Za-z0-9_\-]{27}",
        pattern=B + r"(?P<secret>EAA[BCDG][A-Za-z0-9]{80,}|\d{15,16}\|[A-Za-z0-9_\-]{27})" + E,
        examples=("1527194624358273|qbBf2-fdB9zZpqLA0_2nNzZDw2M",)),
    Detector(
        id="instagram-access-token", title="Instagram access token", severity=S.HIGH, keywords=("igqv",),
        pattern=B + r"(?P<secret>IGQV[A-Za-z0-9_\-]{100,})", reveal=4,
        examples=("IGQVJWS3pUNmZA2MUJDVlRwLW9ac1lrU05nZAmpzWHQtWHFJSEFRMF9tWVpRdEd70HQ5Wk8wSnY0R0VEQnVQdUU0MnpxNWxocU"
                  "YyX1ZA",)),
    Detector(
        id="twitter-bearer-token", title="X (Twitter) app-only bearer token", severity=S.HIGH,
        keywords=("aaaaaaaaaaaaaaaaaaaaa",),
        pattern=B + r"(?P<secret>A{21,22}[A-Za-z0-9%]{30,})", reveal=22,
        examples=("tp:AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BeiuSd%2BUaLvse4JtiiSGRDISJS%3DEiUifRGBkE2XK5zMl76DjR9Ub0fh",)),
    Detector(
        id="sentry-token", title="Sentry auth token", severity=S.HIGH, keywords=("sntrys_", "sntryu_"),
        pattern=B + r"(?P<secret>sntrys_eyJ[A-Za-z0-9+/=_\-]{60,}|sntryu_[a-f0-9]{64})", reveal=7,
        examples=("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",)),
    Detector(
        id="newrelic-key", title="New Relic API key", severity=S.MEDIUM,
        keywords=("nrak-", "nrbr-", "nrii-", "nrjs-", "nral"),
        pattern=B + r"(?P<secret>NRAK-[A-Z0-9]{27}|NRBR-[a-f0-9]{19}|NRII-[A-Za-z0-9_\-]{26,32}|NRJS-[a-f0-9]{19}"
                r"|[a-z0-9]{36}NRAL)" + E, reveal=5,
        examples=("NRAK-X29R0RTNJIQTUFWOA8Z8YRDENG0",)),
    Detector(
        id="grafana-token", title="Grafana API key or service-account token", severity=S.HIGH,
        keywords=("glc_", "glsa_", "eyjrijoi"),
        pattern=B + r"(?P<secret>glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"
                r"|eyJrIjoi[A-Za-z0-9+/]{60,}={0,2})", reveal=4,
        examples=("glsa_Zk3J9xQpL0aB7cD2eF4gH6iJ8kL0mN1o_0a1b2c3d",)),
    Detector(
        id="linear-api-key", title="Linear API key", severity=S.MEDIUM, keywords=("lin_api_",),
        pattern=B + r"(?P<secret>lin_api_[A-Za-z0-9]{40})" + E, reveal=8,
        examples=("TP:lin_api_F7hvwKIiRuRkwmbYFY7xGlBxe8GUg8YNBzaRyF4W",)),
    Detector(
        id="notion-token", title="Notion integration token", severity=S.MEDIUM, keywords=("ntn_", "secret_"),
        pattern=B + r"(?P<secret>ntn_[A-Za-z0-9]{46}|secret_[A-Za-z0-9]{43})" + E, reveal=4,
        examples=("ntn_123465789l62YMNJKXLKpjiCVEXbx4CBxkfprOA96Y15wZ",)),
    Detector(
        id="figma-token", title="Figma personal access token", severity=S.MEDIUM, keywords=("figd_",),
        pattern=B + r"(?P<secret>figd_[A-Za-z0-9_\-]{40})", reveal=5,
        examples=("figd_h65Ugiu76WD3xf233a6KAmo9ZmbWNnNrny9Q6IHl",)),
    Detector(
        id="planetscale-token", title="PlanetScale password or token", severity=S.HIGH,
        keywords=("pscale_",), pattern=B + r"(?P<secret>pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.\-]{32,64})",
        reveal=10, examples=("pscale_pw_hBXnxAz1f8yl9NEZeob2J91LqLzvoOw6HFp9bUOENiC",)),
    Detector(
        id="netlify-token", title="Netlify access token", severity=S.MEDIUM, keywords=("nfp_",),
        pattern=B + r"(?P<secret>nfp_[A-Za-z0-9]{36})" + E, reveal=4,
        examples=("nfp_0i5OM4MV7L02wV3E6rrwiTwhvEkkkPJ9C3EP",)),
    Detector(
        id="vercel-token", title="Vercel token", severity=S.MEDIUM, keywords=("vcp_", "vci_", "vca_", "vcr_"),
        pattern=B + r"(?P<secret>vc[pira]_[A-Za-z0-9]{56})" + E, reveal=4,
        examples=("vcp_5G8LQP7fmw80eG7W8y0sWO1QFPuhsYUuLEqyd1ialdvz9r6pL4vzxkC3",)),
    Detector(
        id="supabase-token", title="Supabase access token", severity=S.HIGH, keywords=("sbp_",),
        pattern=B + r"(?P<secret>sbp_(?:v0_)?[a-f0-9]{40})" + E, reveal=4,
        examples=("sbp_7558c5a93d6f38dd038df5cc2a7c3d4d7b6bc76d",)),
    Detector(
        id="posthog-key", title="PostHog API key", severity=S.MEDIUM,
        keywords=("phc_", "phs_", "phr_", "pha_", "phx_"),
        pattern=B + r"(?P<secret>ph[csrax]_[A-Za-z0-9]{40,60})" + E, reveal=4,
        examples=("phx_5nYpKltuz4gvt7LessoO3swaOH41RJh6pzT1x1NoeTrKbTuAaxtVMA7JmMxp",)),
    Detector(
        id="dropbox-token", title="Dropbox access token", severity=S.HIGH, keywords=(),
        anchor=r"sl\.[A-Za-z0-9_\-]{130}",
        pattern=B + r"(?P<secret>sl\.[A-Za-z0-9_\-]{130,})", reveal=3,
        examples=("var dropbox = 'sl.BdmpmC82mhhySscKk2oQGyE5l--8LdAQftLTXVGQhP39Z8FtAK1BhePhyevurA-Elt7ToIr6Opwz"
                  "KAYE7RxeXmZHhk0VhGr_AR3B4ZQN0m1s6yRr2fVqCuJmNzsv5vOlXnvvuVk9kWq7Hd3AAAf'",)),
    Detector(
        id="onepassword-token", title="1Password service-account token", severity=S.CRITICAL, keywords=("ops_eyj",),
        pattern=B + r"(?P<secret>ops_eyJ[A-Za-z0-9+/_\-]{200,}={0,2})", reveal=4,
        examples=("ops_eyJ" + "b11xLqNoZodWhBSRZjgXFblnyPe_NKm9AQtqj1-g2NkK6QBDIjHw" * 5,)),
    Detector(
        id="wundergraph-key", title="WunderGraph Cosmo API key", severity=S.MEDIUM, keywords=("cosmo_",),
        pattern=B + r"(?P<secret>cosmo_[a-f0-9]{32})" + E, reveal=6,
        examples=("cosmo_69b9f425705c10e576aa6ade81d91e1a:T",)),
    Detector(
        id="defined-networking-key", title="Defined Networking API key", severity=S.MEDIUM, keywords=("dnkey-",),
        pattern=B + r"(?P<secret>dnkey-[A-Z0-9=_\-]{26}-[A-Z0-9=_\-]{52})", reveal=6,
        examples=("dnkey-TUMPCCPBPZCE244YV67IYOWZ7W-HBMEHZFHADYXANYUR72YCQWGBWPU2K232PKSZGTADUWVNHO4UEKZ",)),
    Detector(
        id="salesforce-token", title="Salesforce access token", severity=S.HIGH, keywords=(),
        anchor=r"00D[A-Za-z0-9]{12,15}!",
        pattern=B + r"(?P<secret>00D[A-Za-z0-9]{12,15}![A-Za-z0-9_.]{80,})", reveal=3,
        examples=("t_token 00DUI000005AecQ!AR8Amtqc2drcmpoZ3dlanJoMzQ5ODc1OTg0Mzc5NzQ1OCsrKysKLS0tLQp.cm9jLVR5cGU6"
                  "IDQsRU5DUllQVEVECkRFSy1JbmZvOiBERVMt",)),
)
