"""Drives the FraudStream analyst console in headless Chromium, as an analyst would, and prints what it did as JSON.

Run by ConsoleBrowserTests (make test-browser), which prepares Redis, starts the console and checks Redis afterwards.
Usage: console_browser_test.py URL ADMIN_KEY READ_KEY SCREENSHOT_DIR
"""
import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

url, admin_key, read_key, shots = sys.argv[1:5]
report = {}

options = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,800"):
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
# Chromium can fail to start on a loaded machine (its DevTools port file not written in time): tried three times.
for attempt in range(3):
    try:
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        break
    except Exception as error:  # selenium raises SessionNotCreatedException and WebDriverException subclasses
        print("starting chromium failed (attempt %d): %s" % (attempt + 1, error), file=sys.stderr)
        if attempt == 2:
            raise
driver.set_page_load_timeout(120)
wait = WebDriverWait(driver, 120)


def sign_in(key):
    driver.delete_all_cookies()
    driver.get(url + "/login")
    field = wait.until(expected_conditions.presence_of_element_located((By.ID, "key")))
    field.send_keys(key)
    field.send_keys(Keys.ENTER)
    wait.until(expected_conditions.presence_of_element_located((By.ID, "open-count")))


def post_without_token(path, body):
    """A POST from the page itself (same origin, the session cookie sent) with the given form body: the status."""
    return driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: arguments[1]})"
        ".then(function (r) { done(r.status); }, function () { done(-1); });", path, body)


try:
    sign_in(admin_key)
    report["open_before"] = int(driver.find_element(By.ID, "open-count").text)
    driver.save_screenshot(shots + "/console-queue.png")

    # Five reviews worked through with the keyboard: f or l on the selected row; the page comes back with the next one.
    labelled = []
    for index in range(5):
        row = wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#queue tbody tr.selected")))
        transaction = row.get_attribute("data-transaction")
        key = "f" if index % 2 == 0 else "l"
        driver.find_element(By.TAG_NAME, "body").send_keys(key)
        wait.until(expected_conditions.staleness_of(row))
        wait.until(expected_conditions.presence_of_element_located((By.ID, "open-count")))
        labelled.append({"transaction_id": transaction, "label": "fraud" if key == "f" else "legit"})
    report["labelled"] = labelled
    report["open_after"] = int(driver.find_element(By.ID, "open-count").text)

    # A decision: the explanation's contributions add up to the margin shown.
    driver.find_element(By.CSS_SELECTOR, "#queue tbody tr a").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "decision")))
    report["decision_transaction"] = driver.find_element(By.TAG_NAME, "h1").text.replace("Decision ", "")
    if driver.find_elements(By.ID, "margin"):
        base = float(driver.find_element(By.ID, "base-margin").text)
        margin = float(driver.find_element(By.ID, "margin").text)
        contributions = [float(cell.text) for cell in driver.find_elements(By.CSS_SELECTOR, "#contributions td.contribution")]
        report["margin"] = margin
        report["sum_of_parts"] = base + sum(contributions)
        report["contributions"] = len(contributions)
    driver.save_screenshot(shots + "/console-decision.png")

    # The blocklist: an address added, then removed, through the forms.
    driver.get(url + "/blocklist")
    field = wait.until(expected_conditions.presence_of_element_located((By.ID, "change-ip")))
    field.send_keys("203.0.113.77")
    driver.find_element(By.CSS_SELECTOR, "button[value=add]").click()
    report["added_message"] = wait.until(expected_conditions.presence_of_element_located((By.ID, "message"))).text
    driver.save_screenshot(shots + "/console-blocklist.png")
    field = driver.find_element(By.ID, "change-ip")
    field.send_keys("203.0.113.77")
    previous = driver.find_element(By.ID, "message")
    driver.find_element(By.CSS_SELECTOR, "button[value=remove]").click()
    # The page before the answer still shows the first message: wait for the new page.
    wait.until(expected_conditions.staleness_of(previous))
    report["removed_message"] = wait.until(expected_conditions.presence_of_element_located((By.ID, "message"))).text

    # A request without the CSRF token is refused.
    victim = report["decision_transaction"]
    report["csrf_missing_status"] = post_without_token("/decisions/" + victim + "/label", "label=fraud")

    driver.get(url + "/overview")
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "svg")))
    driver.save_screenshot(shots + "/console-overview.png")
    driver.get(url + "/versions")
    wait.until(expected_conditions.presence_of_element_located((By.ID, "models")))
    driver.save_screenshot(shots + "/console-versions.png")

    # A narrow window: the queue still fits (no horizontal scrolling of the page).
    driver.set_window_size(420, 800)
    driver.get(url + "/")
    wait.until(expected_conditions.presence_of_element_located((By.ID, "open-count")))
    report["narrow_overflow_px"] = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    driver.save_screenshot(shots + "/console-queue-narrow.png")
    driver.set_window_size(1280, 800)

    # A read key: no label buttons, and a label posted with its own valid token is refused.
    sign_in(read_key)
    report["read_label_buttons"] = len(driver.find_elements(By.CSS_SELECTOR, "button[value=fraud]"))
    token = driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
    report["read_label_status"] = post_without_token("/decisions/" + victim + "/label", "label=fraud&csrf=" + token)
    report["read_blocklist_status"] = post_without_token("/blocklist", "ip=203.0.113.78&action=add&csrf=" + token)
finally:
    driver.quit()

print(json.dumps(report))
