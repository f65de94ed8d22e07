"""The web page `kg serve` shows at `/`: static assets (index.html, app.js, style.css) shipped
in this package, and the server-rendered entity pages (`kg.web.pages`)."""
