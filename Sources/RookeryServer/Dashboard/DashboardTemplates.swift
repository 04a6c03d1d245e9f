// The dashboard's pages, as Mustache templates. `{{name}}` escapes what it prints (&, <, >, " and
// '); nothing here uses the unescaped `{{{name}}}` or `{{&name}}`, since every value may come
// from a device, and devices are not trusted. DashboardPageTests checks that no template does.
enum DashboardTemplates {
    static let all: [String: String] = [
        "layout": layout, "overview": overview, "devices": devices, "device": device, "check": check,
        "enrollments": enrollments, "releases": releases, "pager": pager, "chart": chart
    ]

    static let layout = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{$title}}Rookery{{/title}} · Rookery</title>
        <style>\(stylesheet)</style>
        </head>
        <body>
        <header>
        <a class="brand" href="/">Rookery</a>
        <nav><a href="/">Overview</a><a href="/devices">Devices</a><a href="/enrollments">Enrollments</a><a href="/releases">Releases</a></nav>
        </header>
        <main>
        {{$content}}{{/content}}
        </main>
        <footer>Read-only view of the fleet, as the server saw it at {{generatedAt}}.</footer>
        </body>
        </html>

        """

    static let overview = """
        {{<layout}}{{$title}}Overview{{/title}}{{$content}}
        {{#view}}
        <h1>Fleet overview</h1>
        <section class="cards">
        {{#devicesByState}}<a class="card" href="/devices?state={{state}}"><span class="number">{{devices}}</span> {{state}}</a>{{/devicesByState}}
        </section>
        <h2>Accepted devices by last report</h2>
        <table class="narrow">
        <tr><th>Within the hour</th><td class="number" id="reported-hour">{{reportedWithinHour}}</td></tr>
        <tr><th>Within a day</th><td class="number" id="reported-day">{{reportedWithinDay}}</td></tr>
        <tr><th>Silent for longer, or never</th><td class="number" id="silent">{{silent}}</td></tr>
        </table>
        {{/view}}
        <h2>Compliance, last 30 days</h2>
        {{#chart}}{{> chart}}{{/chart}}
        {{#view}}
        <h2>Open issues by check <span class="count">{{openIssues}} open</span></h2>
        <table>
        <thead><tr><th>Check</th><th>Description</th><th class="number">Open</th><th class="number">Snoozed</th></tr></thead>
        <tbody>
        {{#checks}}<tr><td><a href="/checks/{{check}}">{{check}}</a></td><td>{{description}}</td><td class="number">{{open}}</td><td class="number">{{snoozed}}</td></tr>
        {{/checks}}
        {{^checks}}<tr><td colspan="4">No open issues.</td></tr>{{/checks}}
        </tbody>
        </table>
        {{/view}}
        {{/content}}{{/layout}}
        """

    static let devices = """
        {{<layout}}{{$title}}Devices{{/title}}{{$content}}
        {{#view}}
        <h1>Devices <span class="count">{{total}}{{#state}} {{.}}{{/state}}</span></h1>
        {{/view}}
        <p class="filters">Show: {{#stateLinks}}<a href="{{href}}"{{#active}} class="active"{{/active}}>{{label}}</a> {{/stateLinks}}</p>
        <table>
        <thead><tr>{{#sortLinks}}<th><a href="{{href}}"{{#active}} class="active"{{/active}}>{{label}} {{arrow}}</a></th>{{/sortLinks}}<th>State</th><th>Release</th></tr></thead>
        <tbody>
        {{#view.devices}}<tr><td><a href="/devices/{{fingerprint}}">{{hostname}}</a>{{#flagged}} <span class="flag">flagged</span>{{/flagged}}</td><td>{{lastReport}}{{^lastReport}}never{{/lastReport}}</td><td class="number">{{openIssues}}</td><td>{{enrolledAt}}</td><td>{{state}}</td><td>{{clientRelease}}</td></tr>
        {{/view.devices}}
        {{^view.devices}}<tr><td colspan="6">No devices.</td></tr>{{/view.devices}}
        </tbody>
        </table>
        {{> pager}}
        {{/content}}{{/layout}}
        """

    static let pager = """
        <p class="pager">{{#previous}}<a rel="prev" href="{{.}}">← previous</a>{{/previous}} page {{view.page}} of {{view.pages}} {{#next}}<a rel="next" href="{{.}}">next →</a>{{/next}}</p>
        """

    /// A `ComplianceChart` as inline SVG (markup, not script: the page's policy allows no script).
    static let chart = """
        <figure class="chart">
        <svg xmlns="http://www.w3.org/2000/svg" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="Compliance from {{firstDay}} to {{lastDay}}">
        {{#bars}}<g><title>{{label}}</title>{{#segments}}<rect class="{{kind}}" x="{{x}}" y="{{y}}" width="14" height="{{height}}"/>{{/segments}}</g>
        {{/bars}}
        </svg>
        <figcaption>{{firstDay}} to {{lastDay}}, devices per day (top: {{top}}); <span class="passed">passed</span>, <span class="unknown">unknown</span>, <span class="failed">failed</span>.{{^bars}} No audit has run in these days.{{/bars}}</figcaption>
        </figure>
        """

    static let device = """
        {{<layout}}{{$title}}{{view.hostname}}{{/title}}{{$content}}
        {{#view}}
        <h1>{{hostname}} <span class="state">{{state}}</span>{{#suspended}} <span class="flag">suspended</span>{{/suspended}}</h1>
        <table class="narrow">
        <tr><th>Fingerprint</th><td class="mono">{{fingerprint}}</td></tr>
        <tr><th>Machine id</th><td class="mono">{{machineId}}</td></tr>
        <tr><th>Enrolled</th><td>{{enrolledAt}}</td></tr>
        <tr><th>Accepted</th><td>{{acceptedAt}}</td></tr>
        <tr><th>Last report</th><td>{{lastReport}}{{^lastReport}}never{{/lastReport}}</td></tr>
        <tr><th>Release</th><td>{{clientRelease}}{{^clientRelease}}not said yet{{/clientRelease}}{{#latestRelease}} (latest published: {{.}}){{/latestRelease}}</td></tr>
        </table>
        {{#flags}}<p class="flag">{{.}}</p>{{/flags}}
        <h2>Open issues</h2>
        <table>
        <thead><tr><th>Check</th><th>Since</th><th>Snoozed until</th><th>Last alert</th><th>Detail</th></tr></thead>
        <tbody>
        {{#openIssues}}<tr><td><a href="/checks/{{check}}">{{check}}</a></td><td>{{openedAt}}</td><td>{{snoozedUntil}}</td><td>{{alertedAt}}</td><td>{{detail}}</td></tr>
        {{/openIssues}}
        {{^openIssues}}<tr><td colspan="5">None.</td></tr>{{/openIssues}}
        </tbody>
        </table>
        <h2>Exceptions</h2>
        <table>
        <thead><tr><th>Check</th><th>Until</th><th>By</th><th>Why</th></tr></thead>
        <tbody>
        {{#exceptions}}<tr><td><a href="/checks/{{check}}">{{check}}</a></td><td>{{until}}</td><td>{{createdBy}}</td><td>{{reason}}</td></tr>
        {{/exceptions}}
        {{^exceptions}}<tr><td colspan="4">None: every check counts.</td></tr>{{/exceptions}}
        </tbody>
        </table>
        <h2>Pending patches and commands</h2>
        <table>
        <thead><tr><th>Id</th><th>Target</th><th>Action</th><th>Queued</th></tr></thead>
        <tbody>
        {{#pendingPatches}}<tr><td>{{id}}</td><td class="mono">{{target}}</td><td>{{action}}</td><td>{{createdAt}}</td></tr>
        {{/pendingPatches}}
        {{^pendingPatches}}<tr><td colspan="4">None.</td></tr>{{/pendingPatches}}
        </tbody>
        </table>
        <h2>Facts by plugin</h2>
        {{#facts}}<h3>{{plugin}}</h3>
        <table class="facts">{{#values}}<tr><th class="mono">{{path}}</th><td class="mono">{{value}}</td></tr>{{/values}}</table>
        {{/facts}}
        {{^facts}}<p>No report yet.</p>{{/facts}}
        <h2>Recent changes</h2>
        <table>
        <thead><tr><th>When</th><th>Path</th><th>Was</th><th>Now</th></tr></thead>
        <tbody>
        {{#changes}}<tr><td>{{changedAt}}</td><td class="mono">{{path}}</td><td class="mono">{{old}}</td><td class="mono">{{new}}</td></tr>
        {{/changes}}
        {{^changes}}<tr><td colspan="4">None kept.</td></tr>{{/changes}}
        </tbody>
        </table>
        <h2>Past issues</h2>
        <table>
        <thead><tr><th>Check</th><th>Opened</th><th>Closed</th><th>Why</th></tr></thead>
        <tbody>
        {{#pastIssues}}<tr><td>{{check}}</td><td>{{openedAt}}</td><td>{{closedAt}}</td><td>{{closeReason}}</td></tr>
        {{/pastIssues}}
        {{^pastIssues}}<tr><td colspan="4">None.</td></tr>{{/pastIssues}}
        </tbody>
        </table>
        {{/view}}
        {{/content}}{{/layout}}
        """

    static let check = """
        {{<layout}}{{$title}}{{view.check}}{{/title}}{{$content}}
        {{#view}}
        <h1>{{check}} <span class="count">{{total}} failing</span></h1>
        <p>{{description}}</p>
        {{#remediation}}<p class="remediation">{{.}}</p>{{/remediation}}
        {{/view}}
        {{#chart}}{{> chart}}{{/chart}}
        {{#view}}
        <table>
        {{/view}}
        <thead><tr>{{#sortLinks}}<th><a href="{{href}}"{{#active}} class="active"{{/active}}>{{label}} {{arrow}}</a></th>{{/sortLinks}}<th>Snoozed until</th><th>Last alert</th><th>Detail</th></tr></thead>
        {{#view}}
        <tbody>
        {{#failing}}<tr><td><a href="/devices/{{fingerprint}}">{{hostname}}</a></td><td>{{openedAt}}</td><td>{{snoozedUntil}}</td><td>{{alertedAt}}</td><td>{{detail}}</td></tr>
        {{/failing}}
        {{^failing}}<tr><td colspan="5">No device fails this check.</td></tr>{{/failing}}
        </tbody>
        </table>
        <h2>Not applicable (exceptions)</h2>
        <table>
        <thead><tr><th>Device</th><th>Until</th><th>By</th><th>Why</th></tr></thead>
        <tbody>
        {{#excepted}}<tr><td><a href="/devices/{{fingerprint}}">{{hostname}}</a></td><td>{{until}}</td><td>{{createdBy}}</td><td>{{reason}}</td></tr>
        {{/excepted}}
        {{^excepted}}<tr><td colspan="4">None.</td></tr>{{/excepted}}
        </tbody>
        </table>
        {{/view}}
        {{> pager}}
        {{/content}}{{/layout}}
        """

    static let enrollments = """
        {{<layout}}{{$title}}Enrollments{{/title}}{{$content}}
        <h1>Pending enrollments</h1>
        <p>Compare each fingerprint with the device's own (<code>rookery-client status</code> on it) before <code>bin/clients accept</code>.</p>
        <table>
        <thead><tr><th>Hostname</th><th>Fingerprint</th><th>Machine id</th><th>Asked</th><th>Flags</th></tr></thead>
        <tbody>
        {{#view.pending}}<tr><td>{{hostname}}</td><td class="mono">{{fingerprint}}</td><td class="mono">{{machineId}}</td><td>{{enrolledAt}}</td><td>{{#flags}}<p class="flag">{{.}}</p>{{/flags}}</td></tr>
        {{/view.pending}}
        {{^view.pending}}<tr><td colspan="5">No device is waiting.</td></tr>{{/view.pending}}
        </tbody>
        </table>
        {{> pager}}
        {{/content}}{{/layout}}
        """

    static let releases = """
        {{<layout}}{{$title}}Releases{{/title}}{{$content}}
        <h1>Client releases</h1>
        <table>
        <thead><tr><th>Release</th><th>Published</th><th class="number">Devices running it</th><th class="number">Bytes</th><th class="number">Files</th><th>SHA-256</th></tr></thead>
        <tbody>
        {{#view.releases}}<tr><td>{{number}}</td><td>{{createdAt}}</td><td class="number">{{devices}}</td><td class="number">{{size}}</td><td class="number">{{files}}</td><td class="mono">{{sha256}}</td></tr>
        {{/view.releases}}
        {{^view.releases}}<tr><td colspan="6">None published (bin/client_release).</td></tr>{{/view.releases}}
        </tbody>
        </table>
        {{/content}}{{/layout}}
        """

    /// Inline, so a page is one request; the script policy allows this one text by its hash
    /// (`DashboardHeadersMiddleware`) and no other style or script.
    static let stylesheet = """
        body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
        header { display: flex; gap: 2em; align-items: baseline; padding: .8em 1.5em; background: #1d2430; }
        header a { color: #f6f7f9; text-decoration: none; margin-right: 1.2em; }
        .brand { font-weight: bold; }
        main { padding: 1em 1.5em; }
        footer { padding: 1em 1.5em; color: #667; font-size: 90%; }
        h1 .count, h2 .count, .state { font-size: 60%; color: #667; font-weight: normal; }
        table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 1.5em; }
        table.narrow { width: auto; }
        th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
        td.number, th.number { text-align: right; }
        .mono { font-family: ui-monospace, monospace; font-size: 90%; word-break: break-all; }
        .cards { display: flex; gap: 1em; flex-wrap: wrap; margin-bottom: 1em; }
        .card { background: #fff; padding: .8em 1.2em; border: 1px solid #e3e6ea; color: inherit; text-decoration: none; }
        .card .number { font-size: 180%; display: block; }
        .flag { color: #a33; }
        a.active { font-weight: bold; }
        .pager a { margin: 0 .5em; }
        table.facts th { width: 35%; font-weight: normal; }
        .chart { margin: 0 0 1.5em 0; }
        .chart svg { background: #fff; border: 1px solid #e3e6ea; }
        rect.passed { fill: #3a8a4f; } rect.unknown { fill: #b5b9c0; } rect.failed { fill: #c0392b; }
        span.passed { color: #3a8a4f; } span.unknown { color: #7a7f87; } span.failed { color: #c0392b; }

        """
}
