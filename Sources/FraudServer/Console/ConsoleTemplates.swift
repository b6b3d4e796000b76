import Mustache

/// The console's pages as Mustache templates, compiled into the binary (no files to find at run time). Every value is
/// written with `{{…}}`, which escapes HTML; the only unescaped value (`{{{svg}}}`) is SVG the console draws itself.
enum ConsoleTemplates {
    /// The library with every page and partial registered.
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in all { try library.register(text, named: name) }
        return library
    }

    static let all: [(String, String)] = [
        ("head", head), ("nav", nav), ("foot", foot), ("login", login), ("queue", queue), ("decision", decision),
        ("blocklist", blocklist), ("error", error), ("overview", overview), ("versions", versions),
    ]

    static let head = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · FraudStream console</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
        header{background:#1b2a41;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
        header a{color:#fff}header form{margin-left:auto}
        main{padding:1rem;max-width:80rem;margin:auto}
        table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:.35rem .5rem;border-bottom:1px solid #dde;text-align:left}
        tr.selected{outline:3px solid #2f6fdf;outline-offset:-3px}
        .fraud{color:#b00020}.legit{color:#1d6b2c}.muted{color:#5b6270}
        form.inline{display:inline}button,input,select{font:inherit;padding:.25rem .5rem}
        :focus-visible{outline:3px solid #2f6fdf;outline-offset:2px}
        .filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin-bottom:1rem}
        .filters label{display:flex;flex-direction:column;font-size:.9rem}
        .notice{background:#fff6d6;border:1px solid #e0c060;padding:.5rem;margin-bottom:1rem}
        .skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;color:#000;padding:.5rem}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;background:#fff;padding:1rem}dt{font-weight:600}
        svg text{font-size:12px}svg{max-width:100%;height:auto}
        @media (max-width:760px){table{display:block;overflow-x:auto}main{padding:.5rem}}.added{color:#1d6b2c}.removed{color:#b00020}
        </style></head><body><a class="skip" href="#main">Skip to content</a>
        """

    static let nav = """
        <header><strong>FraudStream</strong>
        <nav aria-label="Main"><a href="/">Review queue</a> · <a href="/overview">Overview</a> · <a href="/blocklist">Blocklist</a> · <a href="/versions">Versions</a></nav>
        <span class="muted" style="color:#cdd">signed in as {{actor}} ({{role}})</span>
        <form method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form>
        </header>
        """

    static let foot = """
        </main></body></html>
        """

    static let login = """
        {{> head}}<main id="main"><h1>Sign in</h1>
        {{#message}}<p class="notice" role="alert">{{message}}</p>{{/message}}
        <form method="post" action="/login">
        <p><label for="key">API key (scope <code>read</code> to look, <code>admin</code> to label and change the blocklist)</label><br>
        <input id="key" name="key" type="password" autocomplete="off" required size="60" autofocus></p>
        <p><button type="submit">Sign in</button></p></form>
        {{> foot}}
        """

    static let queue = """
        {{> head}}{{> nav}}<main id="main"><h1>Review queue</h1>
        {{#message}}<p class="notice" role="status">{{message}}</p>{{/message}}
        <p><strong id="open-count">{{openCount}}</strong> open reviews{{#capped}} (at least: counted among the newest {{cap}} entries){{/capped}}.
        {{#admin}}Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>f</kbd> label fraud, <kbd>l</kbd> label legit, <kbd>Enter</kbd> open.{{/admin}}</p>
        <form class="filters" method="get" action="/">
        <label for="reason">Reason<input id="reason" name="reason" value="{{reason}}" list="reasons"></label>
        <datalist id="reasons">{{#reasonOptions}}<option value="{{.}}">{{/reasonOptions}}</datalist>
        <label for="min">Amount from<input id="min" name="min" inputmode="decimal" value="{{min}}" size="8"></label>
        <label for="max">Amount to<input id="max" name="max" inputmode="decimal" value="{{max}}" size="8"></label>
        {{#partitioned}}<label for="partition">Partition<input id="partition" name="partition" inputmode="numeric" value="{{partition}}" size="4"></label>{{/partitioned}}
        <label for="sort">Order<select id="sort" name="sort"><option value="newest"{{#byNewest}} selected{{/byNewest}}>newest first</option><option value="score"{{#byScore}} selected{{/byScore}}>highest score first</option></select></label>
        <button type="submit">Filter</button></form>
        <table id="queue"><caption class="muted">{{shown}} shown</caption>
        <thead><tr><th scope="col">Transaction</th><th scope="col">User</th><th scope="col">Score</th><th scope="col">Amount</th><th scope="col">Reasons</th>{{#admin}}<th scope="col">Label</th>{{/admin}}</tr></thead><tbody>
        {{#items}}<tr data-transaction="{{transactionId}}" tabindex="-1"><td><a href="/decisions/{{link}}">{{transactionId}}</a></td><td>{{userId}}</td><td>{{score}}</td><td>{{amount}}</td><td>{{reasons}}</td>
        {{#admin}}<td><form class="inline" method="post" action="/decisions/{{link}}/label"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="next" value="queue"><button name="label" value="fraud" class="fraud">Fraud</button> <button name="label" value="legit" class="legit">Legit</button></form></td>{{/admin}}</tr>
        {{/items}}</tbody></table>
        {{^items}}<p>Nothing to review{{#filtered}} with these filters{{/filtered}}.</p>{{/items}}
        <nav aria-label="Pages">{{#previousPage}}<a id="previous-page" href="{{previousPage}}">← Previous 100</a>{{/previousPage}} {{#nextPage}}<a id="next-page" href="{{nextPage}}">Next 100 →</a>{{/nextPage}}</nav>
        <script>
        (function () {
          var rows = Array.prototype.slice.call(document.querySelectorAll('#queue tbody tr'));
          var at = 0;
          function select(index) {
            if (!rows.length) return;
            at = Math.max(0, Math.min(rows.length - 1, index));
            rows.forEach(function (row, i) { row.classList.toggle('selected', i === at); row.setAttribute('aria-selected', i === at ? 'true' : 'false'); });
            rows[at].focus();
          }
          select(0);
          document.addEventListener('keydown', function (event) {
            if (event.target.tagName === 'INPUT' || event.target.tagName === 'SELECT' || event.ctrlKey || event.metaKey || event.altKey) return;
            var row = rows[at];
            if (event.key === 'j') { select(at + 1); event.preventDefault(); }
            else if (event.key === 'k') { select(at - 1); event.preventDefault(); }
            else if (event.key === 'Enter' && row) { window.location = row.querySelector('a').href; }
            else if ((event.key === 'f' || event.key === 'l') && row) {
              var button = row.querySelector('button[value=' + (event.key === 'f' ? 'fraud' : 'legit') + ']');
              if (button) { button.click(); event.preventDefault(); }
            }
          });
        })();
        </script>
        {{> foot}}
        """

    static let decision = """
        {{> head}}{{> nav}}<main id="main"><h1>Decision {{transactionId}}</h1>
        {{#message}}<p class="notice" role="status">{{message}}</p>{{/message}}
        <dl>
        <dt>Decision</dt><dd id="decision">{{decision}}</dd>
        <dt>Score</dt><dd id="score">{{score}}</dd>
        <dt>User</dt><dd>{{userId}}</dd>
        <dt>Amount</dt><dd>{{amount}}</dd>
        <dt>Run</dt><dd>{{runId}}</dd>
        <dt>Model version</dt><dd id="model-version">{{modelVersion}}</dd>
        <dt>Rule set version</dt><dd>{{rulesVersion}}</dd>
        {{#shadowScore}}<dt>Shadow score</dt><dd>{{shadowScore}} (model {{shadowModelVersion}})</dd>{{/shadowScore}}
        <dt>Label</dt><dd id="label">{{label}}</dd>
        {{#evidence}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/evidence}}
        </dl>
        <h2>Reasons</h2>
        <ul>{{#reasons}}<li><code>{{code}}</code>{{#rule}}: <code>{{rule}}</code>{{/rule}}</li>{{/reasons}}</ul>{{^reasons}}<p>None.</p>{{/reasons}}
        {{#admin}}<form method="post" action="/decisions/{{link}}/label"><input type="hidden" name="csrf" value="{{csrf}}">
        <button name="label" value="fraud" class="fraud">Label fraud</button> <button name="label" value="legit" class="legit">Label legit</button></form>{{/admin}}
        <h2>Explanation</h2>
        {{#explained}}<p>Model {{explainedVersion}}: base margin <span id="base-margin">{{baseMargin}}</span>, margin <span id="margin">{{margin}}</span> (the base plus every feature's contribution), probability {{probability}}.</p>
        <figure>{{{svg}}}<figcaption class="muted">Each feature's contribution to the margin (log-odds); red raises the fraud score.</figcaption></figure>
        <table id="contributions"><thead><tr><th scope="col">Feature</th><th scope="col">Value</th><th scope="col">Contribution</th></tr></thead><tbody>
        {{#contributions}}<tr><td>{{name}}</td><td>{{value}}</td><td class="contribution">{{contribution}}</td></tr>{{/contributions}}</tbody></table>{{/explained}}
        {{^explained}}<p>{{explanationMissing}}</p>{{/explained}}
        <h2>This user's recent decisions</h2>
        <p class="muted">{{historySource}}</p>
        <table><thead><tr><th scope="col">Transaction</th><th scope="col">Decision</th><th scope="col">Score</th><th scope="col">Amount</th><th scope="col">Reasons</th></tr></thead><tbody>
        {{#history}}<tr><td><a href="/decisions/{{link}}">{{transactionId}}</a></td><td>{{decision}}</td><td>{{score}}</td><td>{{amount}}</td><td>{{reasons}}</td></tr>{{/history}}</tbody></table>
        {{> foot}}
        """

    static let blocklist = """
        {{> head}}{{> nav}}<main id="main"><h1>IP blocklist</h1>
        {{#message}}<p class="notice" role="status" id="message">{{message}}</p>{{/message}}
        <p>{{members}} IPs listed{{#capacity}} (the filter is sized for {{capacity}}){{/capacity}}.</p>
        <form method="get" action="/blocklist"><label for="check">Check an IP</label> <input id="check" name="ip" value="{{ip}}"> <button type="submit">Check</button></form>
        {{#checked}}<p id="membership">{{ip}} is {{#listed}}<strong class="fraud">on the blocklist</strong>{{/listed}}{{^listed}}<strong>not on the blocklist</strong>{{/listed}}.</p>{{/checked}}
        {{#admin}}<h2>Change</h2>
        <form method="post" action="/blocklist"><input type="hidden" name="csrf" value="{{csrf}}">
        <label for="change-ip">IP</label> <input id="change-ip" name="ip" required>
        <button name="action" value="add">Add</button> <button name="action" value="remove">Remove</button></form>
        <p class="muted">Changes are audited with your key's name{{#makerChecker}}; a removal is a proposal another admin approves{{/makerChecker}}.</p>{{/admin}}
        {{> foot}}
        """

    static let overview = """
        {{> head}}{{> nav}}<main id="main"><h1>Overview</h1>
        <p class="muted">From the fraud counts over time in Redis (every partition), on Redis's clock.</p>
        {{#windows}}<section aria-labelledby="w-{{id}}"><h2 id="w-{{id}}">{{title}}</h2>
        <p><span class="scored">{{scored}}</span> decisions: {{approve}} approved, {{review}} reviewed, {{decline}} declined; flagged {{fraudRate}}; dead letters {{deadLetters}}.</p>
        <figure style="overflow-x:auto">{{{svg}}}</figure>
        <table><caption>Top reasons</caption><thead><tr><th scope="col">Reason</th><th scope="col">Hits</th><th scope="col">Share of decisions</th></tr></thead><tbody>
        {{#reasons}}<tr><td><code>{{code}}</code></td><td>{{hits}}</td><td>{{share}}</td></tr>{{/reasons}}</tbody></table></section>
        {{/windows}}
        {{#run}}<h2>Rules in run {{run}}</h2>
        <table id="rules"><caption class="muted">The run of the newest decision; precision is the share of labelled hits that were fraud.</caption>
        <thead><tr><th scope="col">Rule (reason)</th><th scope="col">Hits</th><th scope="col">Labelled hits</th><th scope="col">Precision</th></tr></thead><tbody>
        {{#rules}}<tr><td><code>{{code}}</code></td><td>{{hits}}</td><td>{{labelled}}</td><td>{{precision}}</td></tr>{{/rules}}</tbody></table>{{/run}}
        <h2>Champion and shadow</h2>
        <table><thead><tr><th scope="col">Role</th><th scope="col">Model</th><th scope="col">ROC AUC</th><th scope="col">PR AUC</th><th scope="col">Precision</th><th scope="col">Recall</th></tr></thead><tbody>
        {{#models}}<tr><td>{{role}}</td><td>{{version}}</td><td>{{rocAUC}}</td><td>{{prAUC}}</td><td>{{precision}}</td><td>{{recall}}</td></tr>{{/models}}</tbody></table>
        <p class="muted">Held-out evaluation of each version when it was trained; on labelled live traffic, monitor --stats compares the two.</p>
        {{> foot}}
        """

    static let versions = """
        {{> head}}{{> nav}}<main id="main"><h1>Versions</h1>
        {{#message}}<p class="notice" role="status" id="message">{{message}}</p>{{/message}}
        <h2>Models</h2>
        <table id="models"><thead><tr><th scope="col">Version</th><th scope="col">Role</th><th scope="col">Kind</th><th scope="col">Created</th><th scope="col">ROC AUC</th><th scope="col">PR AUC</th><th scope="col">Precision</th><th scope="col">Recall</th>{{#admin}}<th scope="col">Promote</th>{{/admin}}</tr></thead><tbody>
        {{#models}}<tr><td>{{version}}</td><td>{{role}}</td><td>{{kind}}</td><td>{{created}}</td><td>{{rocAUC}}</td><td>{{prAUC}}</td><td>{{precision}}</td><td>{{recall}}</td>
        {{#admin}}<td>{{^champion}}<form class="inline" method="post" action="/models/{{version}}/promote"><input type="hidden" name="csrf" value="{{csrf}}">
        <label><input type="checkbox" name="confirm" value="yes" required> I mean it</label> <button type="submit">Promote {{version}}</button></form>{{/champion}}</td>{{/admin}}</tr>{{/models}}</tbody></table>
        <h2>Rule sets</h2>
        <table><thead><tr><th scope="col">Version</th><th scope="col">Created</th><th scope="col">Note</th></tr></thead><tbody>
        {{#rules}}<tr><td>{{version}}{{#deciding}} (deciding){{/deciding}}</td><td>{{created}}</td><td>{{note}}</td></tr>{{/rules}}</tbody></table>
        <form method="get" action="/versions" class="filters"><label for="a">Compare version<input id="a" name="a" value="{{a}}" size="4" inputmode="numeric"></label>
        <label for="b">with version<input id="b" name="b" value="{{b}}" size="4" inputmode="numeric"></label><button type="submit">Diff</button></form>
        {{#diff}}<pre id="diff" aria-label="Rule set diff">{{#lines}}<span class="{{kind}}">{{sign}} {{text}}</span>
        {{/lines}}</pre>{{/diff}}
        {{> foot}}
        """

    static let error = """
        {{> head}}{{#signedIn}}{{> nav}}{{/signedIn}}<main id="main"><h1>{{title}}</h1><p role="alert">{{message}}</p><p><a href="/">Back to the queue</a></p>
        {{> foot}}
        """
}
