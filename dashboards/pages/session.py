"""Turn-the-curve session page: for one measure and area, the partnership's meeting in the six steps of
Outcomes-Based Accountability, pre-filled with the baseline and the story behind the curve.

The record (the end, the story, partners, what works, the action plan) is kept in the application database,
not the warehouse, so no refresh can lose it; every change is audited. Partnership members may change the
sessions of their own areas, the data team any; everyone else reads. Starting a cycle freezes the baseline
through oba_pipeline.turn_the_curve.records, exactly as `oba ttc start` does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

import dash
import polars as pl
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboards import data
from dashboards.app import current_home
from dashboards.auth import Viewer, current_viewer
from dashboards.layout import aria
from dashboards.measure_figures import period_of
from dashboards.pages.measure import (
    build_curve,
    choices,
    curve_section,
    measure_controls,
    story_section,
    verdict_panel,
)
from oba_pipeline.catalogue import load_catalogue
from oba_pipeline.config import Home
from oba_pipeline.turn_the_curve import records, sessions
from oba_pipeline.turn_the_curve.records import RecordError
from oba_pipeline.turn_the_curve.sessions import COSTS, STATUSES, SessionError

dash.register_page(__name__, path="/session", name="Turn-the-curve session",
                   title="Turn-the-curve session - OBA toolkit", order=6)

log = logging.getLogger(__name__)

STEPS = ("1. What is the end?", "2. How are we doing?", "3. What is the story behind the curve?",
         "4. Which partners have a role to play?", "5. What works?", "6. What do we propose to do?")
# Inputs whose clicks change the record, and what each does.
BUTTONS = {"session-save-story": "story", "session-add-partner": "partner", "session-add-what-works": "what_works",
           "session-add-action": "action"}
# The cycle's name and button are only there until a cycle starts: matched by pattern, so they may be absent.
CYCLE_NAME = {"type": "session-cycle-name", "index": 0}
CYCLE_BUTTON = {"type": "session-start-cycle", "index": 0}


def session_href(indicator_id: str, area_code: str, period_type: str, session_id: int | None = None) -> str:
    query = {"indicator": indicator_id, "area": area_code, "period": period_type}
    if session_id is not None:
        query["session"] = str(session_id)
    return f"/session?{urlencode(query)}"


def layout(indicator: str | None = None, area: str | None = None, period: str | None = None,
           session: str | None = None, **_query: str) -> html.Div:
    return page_content(current_home(), indicator, area, period, session)


def acting_viewer() -> Viewer:
    """Who is acting: the signed-in reader, or the local developer when the dashboard runs without sign-in."""
    viewer = current_viewer()
    return viewer if viewer is not None else Viewer(username="local", role="data_team", areas=None)


# --- Builders (plain functions, called by the callbacks and by tests) --------------------------------


def page_content(home: Home, indicator_id: str | None, area_code: str | None, period_type: str | None,
                 session_id: str | None) -> html.Div:
    chosen = choices(home, indicator_id, area_code, period_type)
    frame: list[Any] = [html.H1("Turn-the-curve session"), dcc.Location(id="session-location", refresh=True)]
    if chosen is None:
        return html.Div([*frame, html.P("No figures have been published yet, or none for the areas you may see.")],
                        className="oba-page")
    entries, area_frame, kinds, chosen_id, chosen_area, chosen_period = chosen
    frame += [
        html.P("A partnership's meeting about one curve, in the six steps of Outcomes-Based Accountability. "
               "What you record here is kept between meetings; at the next one, the curve shows when each action "
               "started and whether the curve turned after it.", className="oba-lede"),
        measure_controls("session", entries, area_frame, kinds, chosen_id, chosen_area, chosen_period),
    ]
    if not data.may_read_sessions(chosen_area):
        return html.Div([*frame, html.P("Turn-the-curve sessions are the partnership's working notes: they are not "
                                        "part of the public figures.", id="session-none")], className="oba-page")
    viewer = acting_viewer()
    editable = viewer.may_edit(chosen_area)
    held = data.ttc_sessions(home, chosen_id, chosen_area, chosen_period)
    current = next((s for s in held if session_id and str(s.id) == str(session_id)), held[0] if held else None)
    frame.append(session_chooser(held, current, chosen_id, chosen_area, chosen_period, editable))
    if current is None:
        frame.append(html.P("No session has been recorded on this curve in this area yet."
                            + ("" if editable else " Partnership members of the area and the data team can start one."),
                            id="session-none"))
        return html.Div(frame, className="oba-page")
    meta = data.indicator(home, chosen_id) or {"indicator_id": chosen_id, "name": chosen_id, "unit": "count"}
    frame += [dcc.Store(id="session-id", data=current.id),
              html.Div(id="session-message", role="status", **aria(live="polite")),
              *session_steps(home, meta, current, editable)]
    return html.Div(frame, className="oba-page")


def session_chooser(held: Sequence[Any], current: Any, indicator_id: str, area_code: str, period_type: str,
                    editable: bool) -> html.Div:
    links = [html.Li(html.Strong(f"{s.held_on:%-d %B %Y} (this session)")
                     if current is not None and s.id == current.id
                     else html.A(f"{s.held_on:%-d %B %Y}",
                                 href=session_href(indicator_id, area_code, period_type, s.id)))
             for s in held]
    parts: list[Any] = [html.H2("Sessions on this curve", className="oba-heading-s")]
    parts.append(html.Ul(links, className="oba-list", id="session-list") if links
                 else html.P("None yet.", className="oba-small"))
    if editable:
        parts.append(html.Div([
            html.Div([html.Label("Date of the meeting", htmlFor="session-new-date"),
                      dcc.Input(id="session-new-date", type="date", value=date.today().isoformat())],
                     className="oba-field"),
            html.Button("Start a new session", id="session-new", n_clicks=0, className="oba-button", type="button"),
        ], className="oba-form-row"))
        parts.append(html.P(id="session-new-message", role="status", className="oba-small"))
    return html.Div(parts, className="oba-panel")


def field(label: str, component_id: str, value: str = "", *, area: bool = False, hint: str | None = None) -> html.Div:
    """A labelled text box (or text area); a hint sits inside the label so it is read with it."""
    box = (dcc.Textarea(id=component_id, value=value, className="oba-textarea", maxLength=4000) if area
           else dcc.Input(id=component_id, type="text", value=value, className="oba-input"))
    text: list[Any] = [label, *([html.Span(hint, className="oba-small oba-hint-line")] if hint else [])]
    return html.Div([html.Label(text, htmlFor=component_id), box], className="oba-field")


def read_only(label: str, text: str) -> html.Div:
    return html.Div([html.H4(label, className="oba-heading-s"), html.P(text or "Nothing recorded.",
                                                                       className="oba-notes")])


def session_steps(home: Home, meta: Mapping[str, Any], current: Any, editable: bool) -> list[Any]:
    """The six steps, in order, for one session."""
    purpose = meta.get("result") or meta.get("service")
    end_hint = (f"The result: {meta['result']}." if meta.get("result") else
                f"The service's customers: the people {meta.get('service') or 'the service'} works with."
                if purpose else None)
    step1: list[Any] = [html.H2(STEPS[0]),
                        html.P(f"The measure to turn: {meta['name']}. {meta.get('definition') or ''}")]
    step3: list[Any] = [html.H2(STEPS[2])]
    if editable:
        step1.append(field("The end, in the partnership's words", "session-the-end", current.the_end, area=True,
                           hint=end_hint))
        step3 += [field("What helps (forces at work pushing the curve the right way)", "session-helps",
                        current.story_helps, area=True),
                  field("What hurts (forces pushing it the wrong way)", "session-hurts", current.story_hurts,
                        area=True),
                  field("What else do we need to know? (feeds the data development agenda)", "session-need",
                        current.need_to_know, area=True),
                  html.Button("Save the end and the story", id="session-save-story", n_clicks=0,
                              className="oba-button", type="button")]
    else:
        step1.append(read_only("The end", current.the_end))
        step3 += [read_only("What helps", current.story_helps), read_only("What hurts", current.story_hurts),
                  read_only("What else we need to know", current.need_to_know)]
    step3.append(story_section(data.story_behind_the_curve(home, current.indicator_id, current.area_code), dict(meta)))
    step4: list[Any] = [html.H2(STEPS[3]), html.Div(partner_list(current, editable), id="session-partners")]
    step5: list[Any] = [html.H2(STEPS[4]), html.Div(what_works_list(current, editable), id="session-what-works")]
    step6: list[Any] = [html.H2(STEPS[5]), html.Div(action_table(current, editable), id="session-actions")]
    if editable:
        step4.append(html.Div([field("Partner", "session-partner-name"),
                               field("Their role", "session-partner-role"),
                               html.Button("Add partner", id="session-add-partner", n_clicks=0,
                                           className="oba-button", type="button")], className="oba-form"))
        step5.append(html.Div([
            field("What works", "session-ww-idea", hint="Evidence, experience, and no-cost or low-cost ideas."),
            field("Evidence", "session-ww-evidence"),
            html.Fieldset([html.Legend("Cost", className="oba-label"),
                           dcc.RadioItems(id="session-ww-cost", value="no_cost", className="oba-radios",
                                          options=[{"label": v, "value": k} for k, v in COSTS.items()])],
                          className="oba-fieldset"),
            html.Button("Add what works", id="session-add-what-works", n_clicks=0, className="oba-button",
                        type="button")], className="oba-form"))
        step6.append(html.Div([
            field("Action", "session-action-text"), field("Owner", "session-action-owner"),
            html.Div([html.Label("Start date", htmlFor="session-action-start"),
                      dcc.Input(id="session-action-start", type="date", value=date.today().isoformat())],
                     className="oba-field"),
            html.Div([html.Label("Due date", htmlFor="session-action-due"),
                      dcc.Input(id="session-action-due", type="date", value="")], className="oba-field"),
            html.Button("Add action", id="session-add-action", n_clicks=0, className="oba-button", type="button"),
        ], className="oba-form"))
    return [html.Section(step1, className="oba-step"),
            html.Section([html.H2(STEPS[1]), html.Div(how_are_we_doing(home, meta, current, editable),
                                                      id="session-curve")], className="oba-step"),
            html.Section(step3, className="oba-step"), html.Section(step4, className="oba-step"),
            html.Section(step5, className="oba-step"), html.Section(step6, className="oba-step")]


def all_actions(home: Home, current: Any) -> list[Any]:
    """Every action on this curve in this area, from every session, in the order they were added."""
    held = data.ttc_sessions(home, current.indicator_id, current.area_code, current.period_type)
    return sorted((a for s in held for a in s.actions), key=lambda a: a.id)


def how_are_we_doing(home: Home, meta: Mapping[str, Any], current: Any, editable: bool) -> list[Any]:
    """Step 2: the baseline chart with the actions' start dates, the cycle, and whether the curve turned."""
    actions = all_actions(home, current)
    curve, _ = build_curve(home, dict(meta), current.area_code, current.period_type, current.cycle_id, actions)
    verdicts = data.area_verdicts(home, current.area_code, current.period_type).filter(
        pl.col("indicator_id") == current.indicator_id).to_dicts()
    parts: list[Any] = [curve_section(curve, "session")]
    if current.cycle_id is None:
        parts.append(verdict_panel(verdicts))
        if editable:
            parts.append(html.Div([
                html.P("Starting a cycle freezes this baseline: later figures are judged against it, and new data "
                       "never redraws it."),
                # The box sits inside its label: a pattern-matching id cannot be named by htmlFor.
                html.Div(html.Label(["Name of the cycle",
                                     dcc.Input(id=CYCLE_NAME, type="text", className="oba-input",
                                               value=f"{meta['name']}, {current.held_on:%B %Y}")]),
                         className="oba-field"),
                html.Button("Start a cycle and freeze this baseline", id=CYCLE_BUTTON, n_clicks=0,
                            className="oba-button", type="button")], className="oba-panel", id="session-cycle"))
    else:
        cycle = data.cycle_forecast(home, current.cycle_id)
        if cycle is not None:
            parts.append(html.P(f"Cycle '{cycle['name']}' started on {cycle['started_on']:%-d %B %Y}: its baseline "
                                f"is frozen (fitted {cycle['fitted_from']:%b %Y} to {cycle['fitted_to']:%b %Y}).",
                                id="session-cycle", className="oba-panel"))
        verdict = next((v for v in verdicts if v.get("cycle_id") == current.cycle_id), None)
        parts.append(turned_after(actions, verdict, curve.history, current.period_type))
    return parts


def turned_after(actions: Sequence[Any], verdict: Mapping[str, Any] | None, history: Sequence[Mapping[str, Any]],
                 period_type: str) -> html.Div:
    """Whether the curve turned after the actions started, in the published verdict's words."""
    heading = html.H3("Did the curve turn after the actions started?", className="oba-heading-s")
    if verdict is None:
        return html.Div([heading, html.P("Not yet known: the frozen baseline is published and judged with the next "
                                         "refresh.")], className="oba-panel", id="session-turned")
    lines: list[Any] = [html.P([html.Strong(str(verdict.get("overall_label") or verdict.get("overall"))),
                                " against the frozen baseline"
                                + (f", judged from {verdict['window_from']:%B %Y} to {verdict['window_to']:%B %Y}."
                                   if verdict.get("window_from") and verdict.get("window_to") else ".")])]
    if verdict.get("reason"):
        lines.append(html.P(str(verdict["reason"]), className="oba-small"))
    items = []
    for number, action in enumerate(actions, start=1):
        started = period_of(action.start_date, period_type)
        after = [p for p in history if p.get("status") == "ok" and p["period_start"] >= started]
        items.append(html.Li(f"A{number}, {action.description} (started {action.start_date:%-d %B %Y}, "
                             f"{action.status_label.lower()}): {len(after)} published period"
                             f"{'' if len(after) == 1 else 's'} since it started."))
    if items:
        lines.append(html.Ul(items, className="oba-list"))
    return html.Div([heading, *lines], className="oba-panel", id="session-turned")


def remove_button(kind: str, item_id: int, what: str) -> html.Button:
    return html.Button("Remove", id={"type": "session-remove", "kind": kind, "index": item_id}, n_clicks=0,
                       className="oba-button oba-button--quiet", type="button", **aria(label=f"Remove {what}"))


def partner_list(current: Any, editable: bool) -> Any:
    if not current.partners:
        return html.P("No partners recorded yet.", className="oba-small")
    return html.Ul([html.Li([html.Strong(p.name), f": {p.role}" if p.role else "", " ",
                             *([remove_button("partner", p.id, f"partner {p.name}")] if editable else [])])
                    for p in current.partners], className="oba-list")


def what_works_list(current: Any, editable: bool) -> Any:
    if not current.what_works:
        return html.P("Nothing recorded yet.", className="oba-small")
    return html.Ul([html.Li([html.Strong(w.idea), f" ({w.cost_label.lower()})",
                             html.Br() if w.evidence else "", f"Evidence: {w.evidence}" if w.evidence else "", " ",
                             *([remove_button("what_works", w.id, f"what works: {w.idea}")] if editable else [])])
                    for w in current.what_works], className="oba-list")


def action_table(current: Any, editable: bool) -> Any:
    if not current.actions:
        return html.P("No actions in the plan yet.", className="oba-small")
    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in
                               ("Action", "Owner", "Start", "Due", "Status", *(["Change"] if editable else []))]))
    rows = []
    for action in current.actions:
        change: list[Any] = []
        if editable:
            change = [html.Button(f"Mark {label.lower()}", type="button", n_clicks=0,
                                  id={"type": "session-action-status", "index": action.id, "status": status},
                                  className="oba-button oba-button--quiet",
                                  **aria(label=f"Mark {label.lower()}: {action.description}"))
                      for status, label in STATUSES.items() if status != action.status]
            change.append(remove_button("action", action.id, f"action {action.description}"))
        done = f", {action.completed_on:%-d %b %Y}" if action.completed_on else ""
        rows.append(html.Tr([html.Th(action.description, scope="row"), html.Td(action.owner),
                             html.Td(f"{action.start_date:%-d %b %Y}"), html.Td(f"{action.due_date:%-d %b %Y}"),
                             html.Td(action.status_label + done),
                             *([html.Td(change, className="oba-actions")] if editable else [])]))
    return html.Table([html.Caption("The action plan"), head, html.Tbody(rows)], className="oba-table",
                      id="session-action-table")


def apply_change(home: Home, viewer: Viewer, session_id: int, what: str, form: Mapping[str, Any]) -> str:
    """Carry out one change a person asked for; the message to show them. Refusals come back as messages."""
    by = viewer.username or "local"
    rule = viewer.may_edit
    engine = data.app_engine(home)
    try:
        if what == "story":
            changed = sessions.update_story(engine, session_id, by=by, may_edit=rule, the_end=form.get("the_end"),
                                            story_helps=form.get("helps"), story_hurts=form.get("hurts"),
                                            need_to_know=form.get("need"))
            return "Saved." if changed else "Nothing had changed."
        if what == "partner":
            sessions.add_partner(engine, session_id, by=by, name=form.get("partner_name"),
                                 role=form.get("partner_role"), may_edit=rule)
            return f"Partner {str(form.get('partner_name')).strip()} added."
        if what == "what_works":
            sessions.add_what_works(engine, session_id, by=by, idea=form.get("ww_idea"),
                                    evidence=form.get("ww_evidence"), cost=form.get("ww_cost"), may_edit=rule)
            return "Added to what works."
        if what == "action":
            sessions.add_action(engine, session_id, by=by, description=form.get("action_text"),
                                owner=form.get("action_owner"), start_date=form.get("action_start"),
                                due_date=form.get("action_due"), may_edit=rule)
            return "Action added to the plan."
        if what == "cycle":
            return start_cycle(home, viewer, session_id, str(form.get("cycle_name") or "").strip())
        if what.startswith("status:"):
            _, action_id, status = what.split(":")
            changed_action = sessions.set_action_status(engine, int(action_id), by=by, status=status, may_edit=rule)
            return f"'{changed_action.description}' is now {changed_action.status_label.lower()}."
        if what.startswith("remove:"):
            _, kind, item_id = what.split(":")
            sessions.remove_item(engine, kind, int(item_id), by=by, may_edit=rule)
            return "Removed."
    except (SessionError, RecordError) as error:
        return f"Not saved: {error}"
    return "Nothing to do."


def start_cycle(home: Home, viewer: Viewer, session_id: int, name: str) -> str:
    """Freeze the baseline for the session's measure and area (as `oba ttc start` does) and link the cycle."""
    current = data.ttc_session(home, session_id)
    if current is None:
        raise SessionError(f"There is no session {session_id}. Reload the page.")
    if not viewer.may_edit(current.area_code):
        raise SessionError(f"{viewer.username} may not start cycles for area {current.area_code}.")
    if not name:
        raise SessionError("Name of the cycle is empty: give the cycle a name, then start it.")
    values = data.measure_values(home, current.indicator_id, current.area_code)
    info = data.snapshot_info(home) or {}
    engine = data.app_engine(home)
    cycle_id = records.start_cycle(engine, load_catalogue(), values, indicator_id=current.indicator_id,
                                   area_code=current.area_code, period_type=current.period_type, name=name,
                                   started_by=viewer.username or "local", started_on=date.today(),
                                   snapshot_id=str(info.get("snapshot_id") or ""))
    sessions.link_cycle(engine, session_id, cycle_id, by=viewer.username or "local", may_edit=viewer.may_edit)
    return f"Cycle '{name}' started: the baseline is frozen. The next refresh publishes its verdict."


def record_parts(home: Home, session_id: int, editable: bool) -> tuple[Any, Any, Any, Any]:
    """The parts of the page a change can alter: step 2 (the curve), partners, what works, the action plan."""
    current = data.ttc_session(home, session_id)
    if current is None:
        missing = html.P("This session is not available.")
        return missing, missing, missing, missing
    meta = data.indicator(home, current.indicator_id) or {"indicator_id": current.indicator_id,
                                                          "name": current.indicator_id, "unit": "count"}
    return (how_are_we_doing(home, meta, current, editable), partner_list(current, editable),
            what_works_list(current, editable), action_table(current, editable))


def trigger_of(triggered_id: Any, value: Any) -> str | None:
    """What a press asked for ('story', 'status:3:done', 'remove:partner:2'), or None when nothing was pressed."""
    if not value:
        return None
    if isinstance(triggered_id, str):
        return BUTTONS.get(triggered_id)
    if isinstance(triggered_id, Mapping):
        if triggered_id.get("type") == CYCLE_BUTTON["type"]:
            return "cycle"
        if triggered_id.get("type") == "session-action-status":
            return f"status:{triggered_id['index']}:{triggered_id['status']}"
        if triggered_id.get("type") == "session-remove":
            return f"remove:{triggered_id['kind']}:{triggered_id['index']}"
    return None


# --- Callbacks (thin wrappers) -----------------------------------------------------------------------


@callback(Output("session-location", "href"),
          Input("session-indicator", "value"), Input("session-area", "value"), Input("session-period", "value"),
          prevent_initial_call=True)
def _choose(indicator_id: str, area_code: str, period_type: str) -> str:
    return session_href(indicator_id, area_code, period_type)


@callback(Output("session-location", "href", allow_duplicate=True), Output("session-new-message", "children"),
          Input("session-new", "n_clicks"),
          State("session-new-date", "value"), State("session-indicator", "value"), State("session-area", "value"),
          State("session-period", "value"), prevent_initial_call=True)
def _new_session(clicks: int | None, held_on: str | None, indicator_id: str, area_code: str,
                 period_type: str) -> tuple[Any, Any]:
    if not clicks:
        return no_update, no_update
    viewer = acting_viewer()
    try:
        session_id = sessions.create_session(
            data.app_engine(current_home()), indicator_id=indicator_id, area_code=area_code, period_type=period_type,
            held_on=sessions.parse_day(held_on, "Date of the meeting"), by=viewer.username or "local",
            may_edit=viewer.may_edit)
    except SessionError as error:
        return no_update, f"Not started: {error}"
    return session_href(indicator_id, area_code, period_type, session_id), no_update


FORM_FIELDS = {"the_end": "session-the-end", "helps": "session-helps", "hurts": "session-hurts",
               "need": "session-need", "partner_name": "session-partner-name",
               "partner_role": "session-partner-role", "ww_idea": "session-ww-idea",
               "ww_evidence": "session-ww-evidence", "ww_cost": "session-ww-cost",
               "action_text": "session-action-text", "action_owner": "session-action-owner",
               "action_start": "session-action-start", "action_due": "session-action-due"}
CLEARED = ("session-partner-name", "session-partner-role", "session-ww-idea", "session-ww-evidence",
           "session-action-text", "session-action-owner")


@callback(
    Output("session-message", "children"),
    Output("session-curve", "children"), Output("session-partners", "children"),
    Output("session-what-works", "children"), Output("session-actions", "children"),
    *[Output(component, "value") for component in CLEARED],
    *[Input(button, "n_clicks") for button in BUTTONS],
    Input({"type": "session-remove", "kind": ALL, "index": ALL}, "n_clicks"),
    Input({"type": "session-action-status", "index": ALL, "status": ALL}, "n_clicks"),
    Input({**CYCLE_BUTTON, "index": ALL}, "n_clicks"),
    State("session-id", "data"),
    *[State(component, "value") for component in FORM_FIELDS.values()],
    State({**CYCLE_NAME, "index": ALL}, "value"),
    prevent_initial_call=True,
)
def _change(*arguments: Any) -> tuple[Any, ...]:
    states = arguments[len(BUTTONS) + 3:]
    session_id, values, cycle_names = states[0], states[1:-1], states[-1]
    cycle_name = cycle_names[0] if cycle_names else ""
    pressed = ctx.triggered[0]["value"] if ctx.triggered else None
    what = trigger_of(ctx.triggered_id, pressed)
    if what is None or session_id is None:
        return (no_update,) * (5 + len(CLEARED))
    form = dict(zip(FORM_FIELDS, values, strict=True)) | {"cycle_name": cycle_name}
    home = current_home()
    viewer = acting_viewer()
    message = apply_change(home, viewer, int(session_id), what, form)
    saved = not message.startswith("Not saved")
    clear = tuple("" if saved and what in ("partner", "what_works", "action") else no_update for _ in CLEARED)
    return (message, *record_parts(home, int(session_id), viewer.may_edit(area_of(home, int(session_id)))), *clear)


def area_of(home: Home, session_id: int) -> str | None:
    current = data.ttc_session(home, session_id)
    return current.area_code if current is not None else None
