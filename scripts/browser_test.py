"""A problem's whole loop through the console, in headless Chromium (run by scripts/browser-test.sh).

Every step is a click or a typed value on a page, as a person would do it; a screenshot of each page
is saved under $SCREENSHOTS. Exits non-zero at the first step that does not do what it should.
"""
import datetime
import os
import re
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["BASE"]
SHOTS = os.environ["SCREENSHOTS"]
PASSWORD = "huifang-demo"
ROLES = ("responsible_person", "ops_director", "brokerage_ops_center", "functional_dept", "auditor")


def logins():
    """The demo's login of each role, from the table `huifang demo` prints."""
    found = {}
    with open(os.environ["DEMO_LOG"], encoding="utf-8") as log:
        for line in log:
            parts = line.split()
            if len(parts) >= 2 and parts[1] in ROLES and parts[1] not in found:
                found[parts[1]] = parts[0]
    missing = [role for role in ROLES if role not in found]
    if missing:
        sys.exit(f"no demo login for {missing}")
    return found


options = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=zh-CN"):
    options.add_argument(flag)
options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.implicitly_wait(2)
shot_number = 0


def shot(name):
    global shot_number
    shot_number += 1
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(height, 800), 6000))
    driver.execute_script("window.scrollTo(0, 0)")
    path = os.path.join(SHOTS, f"{shot_number:02d}-{name}.png")
    driver.save_screenshot(path)
    driver.set_window_size(1400, 1000)
    print(f"  screenshot {path}")


def check(condition, what):
    if not condition:
        shot("FAILED")
        print(driver.current_url)
        print(driver.find_element(By.TAG_NAME, "body").text[:3000])
        sys.exit(f"FAILED: {what}")
    print(f"ok  {what}")


def left(page):
    """Whether the browser has left `page` (its <html> element). While the next page replaces it,
    chromedriver may answer "Node with given id does not belong to the document" instead of a
    stale-element error: that is leaving too."""
    def gone(_):
        try:
            page.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
    return gone


def press(element):
    """Clicks a button or link and waits for the page it leads to."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 30).until(left(page))
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def click(css):
    press(driver.find_element(By.CSS_SELECTOR, css))


def notice():
    found = driver.find_elements(By.CSS_SELECTOR, ".notice.error")
    return found[0].text if found else ""


def sign_in(employee_no, who):
    driver.delete_all_cookies()
    driver.get(BASE + "/console")
    check("/console/sign-in" in driver.current_url, f"{who}: the console asks to sign in")
    driver.find_element(By.ID, "employeeNo").send_keys(employee_no)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    click("#sign-in")
    check(driver.find_elements(By.ID, "sign-out"), f"{who} ({employee_no}) signed in: {notice()}")


def fill_record_form():
    """Fills the form the page shows, from its definition: every choice, the time, the first row of
    each list (findings with a problem), the directive's questions."""
    form = driver.find_element(By.ID, "record-form")
    for select in form.find_elements(By.TAG_NAME, "select"):
        name = select.get_attribute("name")
        if re.search(r"\.\d+\.", name) and ".0." not in name:
            continue
        values = [o.get_attribute("value") for o in select.find_elements(By.TAG_NAME, "option") if o.get_attribute("value")]
        if not values:
            continue
        if "true" in values:
            choice = "true"
        elif name.endswith(".kind") and "problem" in values:
            choice = "problem"
        elif "5" in values:
            choice = "5"
        elif "phone" in values:
            choice = "phone"
        elif "client" in values:
            choice = "client"
        else:
            choice = values[0]
        Select(select).select_by_value(choice)
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))) - datetime.timedelta(minutes=30)
    for field in form.find_elements(By.CSS_SELECTOR, "input[type=datetime-local]"):
        driver.execute_script("arguments[0].value = arguments[1]", field, now.strftime("%Y-%m-%dT%H:%M"))
    for field in form.find_elements(By.CSS_SELECTOR, "input[type=text]"):
        name = field.get_attribute("name")
        if ".0." in name:
            field.send_keys({"text": "客户反映交易软件行情延迟，盘中卡顿", "ref": "REC-20261201-001", "old": "13800000000", "new": "13900000000"}
                            .get(name.rsplit(".", 1)[1], "—"))
    for area in form.find_elements(By.TAG_NAME, "textarea"):
        if "directiveAnswers" in area.get_attribute("name"):
            area.send_keys("已确认")


def sla_met(department):
    """The Ops Center's problems closed in time this month, as the auditor's SLA page shows them."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#sla-problems-by-department tbody tr")
    for row in rows:
        cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        if cells and cells[0] == department:
            return int(cells[2])
    return 0


people = logins()
try:
    # The auditor's SLA page before: the Ops Center's problems met in time this month.
    sign_in(people["auditor"], "auditor")
    driver.get(BASE + "/console/monitoring/sla")
    met_before = sla_met("BOC")
    shot("auditor-sla-before")

    # 0. The ops director organizes a new-account callback (Art 12): a task of the branch, assigned
    #    to the responsible person.
    sign_in(people["ops_director"], "ops director")
    driver.get(BASE + "/console/tasks")
    Select(driver.find_element(By.CSS_SELECTOR, "#rule-filter select[name=rule]")).select_by_value("new_account_ordinary")
    click("#rule-filter button")
    shot("ops-new-account-tasks")
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#tasks tbody tr td:first-child a")]
    check(links, "the branch has new-account tasks")
    task = None
    for link in links[:10]:
        driver.get(link)
        select = Select(driver.find_element(By.CSS_SELECTOR, "#assign-form select[name=staffId]"))
        option = next(o for o in select.options if people["responsible_person"] in o.text)
        select.select_by_value(option.get_attribute("value"))
        click("#assign-task")
        if not notice():
            task = link
            break
    check(task, f"a new-account task is assigned to the responsible person: {notice()}")
    shot("ops-task-assigned")

    # 1. The responsible person: the task in their work, started, an attempt logged, the record
    #    filled from its form, signed, and its finding raised as a problem.
    sign_in(people["responsible_person"], "responsible person")
    shot("rp-my-work")
    task_path = task.replace(BASE, "")
    press(driver.find_element(By.CSS_SELECTOR, f"#my-tasks a[href='{task_path}']"))
    check(driver.find_elements(By.ID, "start-task"), "the assigned task can be started")
    click("#start-task")
    check(driver.find_elements(By.ID, "record-form"), f"started, its record form is shown: {notice()}")
    Select(driver.find_element(By.NAME, "outcome")).select_by_value("reached")
    driver.find_element(By.CSS_SELECTOR, "#attempt-form input[name=note]").send_keys("客户本人接听")
    click("#log-attempt")
    check("已接通" in driver.find_element(By.ID, "attempts").find_element(By.XPATH, "following-sibling::table").text, "the attempt is logged")
    fill_record_form()
    shot("rp-task-record-form")
    click("#create-record")
    check(driver.find_elements(By.ID, "submit-record"), f"the record is saved: {notice()}")
    record_url = driver.current_url
    shot("rp-record-draft")
    click("#submit-record")
    check("待会签" in driver.find_element(By.CSS_SELECTOR, ".panel").text, f"the record is signed and submitted: {notice()}")
    raise_form = driver.find_element(By.CSS_SELECTOR, "form[id^=raise-]")
    Select(raise_form.find_element(By.NAME, "category")).select_by_value("system_issue")
    Select(raise_form.find_element(By.NAME, "severity")).select_by_value("high")
    press(raise_form.find_element(By.CSS_SELECTOR, "button"))
    check("/console/problems/" in driver.current_url and "待审批" in driver.page_source, f"the finding is raised as a problem: {notice()}")
    problem_url = driver.current_url
    problem_id = problem_url.rsplit("/", 1)[1]
    shot("rp-problem-raised")

    # 2. The ops director: countersigns the record and approves the problem, from their work page.
    sign_in(people["ops_director"], "ops director")
    shot("ops-my-work")
    check(record_url.replace(BASE, "") in driver.page_source, "the record waits for the ops director's countersignature")
    check(f"/console/problems/{problem_id}" in driver.page_source, "the problem waits for the ops director's approval")
    driver.get(record_url)
    shot("ops-record")
    click("#countersign-record")
    check("已会签" in driver.find_element(By.CSS_SELECTOR, ".panel").text, f"countersigned: {notice()}")
    driver.get(problem_url)
    shot("ops-problem")
    click("#approve-problem")
    check("待总部受理" in driver.page_source, f"approved and sent to HQ: {notice()}")

    # 3. The Brokerage Ops Center: its triage queue, claim, forward to IT.
    sign_in(people["brokerage_ops_center"], "Brokerage Ops Center")
    driver.get(BASE + "/console/problems")
    shot("hq-triage-queue")
    check(f"/console/problems/{problem_id}" in driver.page_source, "the problem is in the triage queue")
    press(driver.find_element(By.CSS_SELECTOR, f"#problems a[href='/console/problems/{problem_id}']"))
    click("#claim-problem")
    check("总部处理中" in driver.page_source, f"claimed: {notice()}")
    it_box = driver.find_element(By.XPATH, "//form[@id='forward-form']//label[contains(., '信息技术部')]/input")
    it_box.click()
    driver.find_element(By.CSS_SELECTOR, "#forward-form input[name=note]").send_keys("请核查行情服务器负载")
    shot("hq-problem-claimed")
    click("#forward-problem")
    check("已转办" in driver.page_source, f"forwarded to IT: {notice()}")
    shot("hq-problem-forwarded")

    # 4. IT: the inbox with the 2-working-day countdown; the answer.
    sign_in(people["functional_dept"], "IT department")
    driver.get(BASE + "/console/forwardings")
    shot("it-inbox")
    row = driver.find_element(By.XPATH, f"//table[@id='forwardings']//tr[td/a[@href='/console/problems/{problem_id}']]")
    check("工作日" in row.text, "the forwarding shows its 2-working-day countdown")
    row.find_element(By.CSS_SELECTOR, "form[id^=answer-] textarea").send_keys("已扩容行情服务器，延迟恢复正常")
    press(row.find_element(By.CSS_SELECTOR, "form[id^=answer-] button"))
    check(f"/console/problems/{problem_id}" not in driver.find_element(By.ID, "forwardings").text if driver.find_elements(By.ID, "forwardings") else True,
          f"answered: {notice()}")

    # 5. The Ops Center: accepts the answer and relays it — branch leader, responsible person, client.
    sign_in(people["brokerage_ops_center"], "Brokerage Ops Center")
    driver.get(problem_url)
    click("form[action$='/accept'] button")
    check("已答复，待反馈" in driver.page_source, f"the answer is accepted: {notice()}")
    shot("hq-answer-accepted")
    for recipient in ("branch_leader", "responsible_person", "client"):
        Select(driver.find_element(By.CSS_SELECTOR, "#relay-form select[name=recipient]")).select_by_value(recipient)
        Select(driver.find_element(By.CSS_SELECTOR, "#relay-form select[name=channel]")).select_by_value("phone")
        click("#relay-problem")
        check(not notice(), f"relayed to the {recipient}: {notice()}")
    check("已办结" in driver.find_element(By.CSS_SELECTOR, ".panel").text, "the problem is closed")
    check("按时" in driver.find_element(By.CSS_SELECTOR, ".panel").text, "its 15-working-day clock was met")
    shot("hq-problem-closed")

    # 6. The auditor: the closed problem counts in the Ops Center's SLA for the month.
    sign_in(people["auditor"], "auditor")
    driver.get(BASE + "/console/monitoring/sla")
    check(sla_met("BOC") == met_before + 1, f"the SLA page counts it: BOC met {met_before} -> {sla_met('BOC')}")
    shot("auditor-sla-after")
    driver.get(problem_url)
    shot("auditor-problem")
    for page, name in (("/console/monitoring", "auditor-overdue"), ("/console/monitoring/uploads", "auditor-uploads"),
                       ("/console/monitoring/coverage", "auditor-coverage"), ("/console/audit?verify=1", "auditor-audit")):
        driver.get(BASE + page)
        check(driver.find_elements(By.ID, "sign-out") and not notice(), f"the auditor opens {page}")
        shot(name)
    check("全部完整" in driver.page_source, "the audit chains verify intact")
    print("browser test passed")
finally:
    driver.quit()
