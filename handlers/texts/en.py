"""Every user-facing string in English (the second language)."""

TEXTS: dict[str, str] = {
    # --- greeting, help, language
    "welcome": "Hello, this is MinHu, the residents' service line. Tell us about any problem in "
    "your own words, with a photo or location if you like. Your grid worker will handle it and "
    "you will hear about every step.",
    "choose_area": "First choose your community or grid (or send your location, or type the "
    "community's name):",
    "choose_area_below": "Choose an area in {area}:",
    "area_set": "Your area is now {area}. Just describe the problem you have.",
    "area_search_none": "No community or grid is called anything like “{words}”. Try other "
    "words, or use the buttons.",
    "area_search_some": "These areas match; pick one:",
    "area_location_none": "Your grid cannot be found from a location yet; please pick your area.",
    "help_resident": "Just write what the problem is (a photo or location may follow).\n"
    "/my my tickets  /area change area  /lang language  /help help",
    "help_worker": "/tasks my open tickets (overdue first)  /help help\nOn a new assignment "
    "press Accept or Return; once accepted you can add notes, ask for more time, escalate or "
    "resolve.",
    "help_staff": "/triage waiting tickets  /overdue overdue tickets  /stats [today|week|month]\n"
    "/invite AREA-CODE invite a grid worker  /ticket NUMBER view a ticket  /help help",
    "lang_choose": "请选择语言 / Choose a language:",
    "lang_set": "Language set to English.",
    "unknown_command": "There is no such command. {help}",
    # --- bad input
    "too_long": "That message is too long ({length} characters); please keep it under {limit}.",
    "not_text": "MinHu can read text, photos and locations. Please describe the problem in words.",
    "bad_button": "This button no longer works; please start again.",
    "stale": "Ticket {number} has moved on; this button is out of date. It is now: {state}.",
    "flood": "You have sent {limit} complaints within an hour; please wait a little. In an "
    "emergency call 110/119/120.",
    "empty": "That was empty; please describe the problem in words.",
    "text_too_long": "That is too long ({length} characters); please keep it under {limit}.",
    "required": "Please type something before sending.",
    "no_area": "Please choose your community or grid first.",
    "not_found": "No such ticket or record.",
    "permission_denied": "You are not allowed to do that.",
    "illegal": "The ticket is “{state}” now; that cannot be done.",
    "rule_return_window": "The time to return a ticket ({window} after assignment) has passed; "
    "escalate it if it is not yours to handle.",
    "rule_extension_range": "An extension must be 1 to {left} working days.",
    "rule_extension_pending": "An extension request is already waiting for approval.",
    "rule_no_extension": "There is no extension request to decide.",
    "rule_top_of_tree": "This is already the top level; there is nowhere to escalate.",
    "rule_already_assigned": "The ticket is already assigned to that worker.",
    "rule_off_duty": "That worker is not on duty.",
    "rule_no_worker": "The ticket has no worker; please assign it.",
    "rule_merge_closed": "Ticket {number} is closed; merge into a ticket still being handled.",
    "rule_merge_self": "A ticket cannot be merged into itself.",
    "rule_same_category": "The ticket already has that category.",
    "invite_used": "That invite code has been used already.",
    "invite_expired": "That invite code has expired; ask the community office for a new one.",
    "invite_unknown": "That invite code is not right; check it and send /join CODE again.",
    "failed": "That did not work; please try again later.",
    # --- resident: complaint
    "proposed": "Your report:\n“{text}”\n\nCategory: {category}\nBecause of: {keywords}\n"
    "Urgency: {urgency}\n\nPress Submit if this is right.",
    "proposed_unclassified": "Your report:\n“{text}”\n\nIt could not be classified "
    "automatically; staff will route it by hand.\nPress Submit to send it.",
    "draft_photo_added": "Photo attached ({count} in all).",
    "draft_full": "Adding this would take your report past {limit} characters, so it was not "
    "added. Submit the report as it is, or cancel and describe it again more briefly.",
    "draft_location_added": "Location attached.",
    "photo_needs_text": "Photo received. Please also say in words what the problem is.",
    "btn_submit": "Submit",
    "btn_change_category": "Change category",
    "btn_cancel": "Cancel",
    "choose_category": "Choose a category:",
    "category_chosen": "Category changed to: {category}",
    "draft_cancelled": "Cancelled; nothing was submitted.",
    "no_draft": "There is nothing waiting to be submitted; just describe the problem.",
    "emergency_warning": "⚠️ If anyone is in danger, call 110 (police), 119 (fire) or 120 "
    "(ambulance) now! We have sent this out at once as an emergency.",
    "submitted_assigned": "Received: ticket {number}. Sent to the grid worker of {area}, who "
    "will accept it by {accept_by} and resolve it by {resolve_by}. You will hear about every step.",
    "submitted_triage": "Received: ticket {number}. Staff will route it soon ({area}); you will "
    "hear about every step.",
    # --- resident: tickets
    "my_none": "You have not reported anything yet.",
    "my_list": "Your tickets (latest {count}):",
    "ticket_line": "{number} | {state} | {category}",
    "ticket_view": "Ticket {number}\nState: {state}\nCategory: {category}\nUrgency: {urgency}\n"
    "Area: {area}\nSubmitted: {created}\nReport: {text}",
    "ticket_reply": "Result: {reply}",
    "ticket_due": "Accept by: {accept_by}\nResolve by: {resolve_by}",
    "ticket_resident": "Resident: {name}",
    "timeline_title": "History:",
    "timeline_line": "{at} {action}{note}",
    "btn_add_info": "Add information",
    "btn_withdraw": "Withdraw",
    "ask_info": "Send what you want to add (text or photo):",
    "info_added": "Added to ticket {number}.",
    "withdrawn": "Ticket {number} has been withdrawn.",
    # --- resident: callback
    "ask_solved": "Ticket {number} has been resolved:\n{reply}\n\nIs your problem solved?",
    "btn_solved": "Solved",
    "btn_unsolved": "Not solved",
    "ask_satisfaction": "Are you satisfied with how it was handled?",
    "btn_satisfied": "Satisfied",
    "btn_basic": "Mostly satisfied",
    "btn_unsatisfied": "Not satisfied",
    "ask_comment": "Anything else to say? Type a comment, or press Skip.",
    "btn_skip": "Skip",
    "callback_closed": "Thank you! Ticket {number} is closed.",
    "callback_reopened": "We are sorry it is not right yet. Ticket {number} goes back to be "
    "handled again.",
    # --- notifications to residents
    "n_assigned": "Ticket {number} has been sent to the grid worker of {area}, who will accept "
    "it by {accept_by}.",
    "n_accepted": "Ticket {number} was accepted by the grid worker; it will be resolved by "
    "{resolve_by}.",
    "n_returned": "Ticket {number} is being routed again; thank you for your patience.",
    "n_extended": "Ticket {number} needs more time ({reason}); it will be resolved by "
    "{resolve_by}.",
    "n_escalated": "Ticket {number} has been escalated to {area}.",
    "n_closed": "Ticket {number} is closed. {note}",
    "n_reopened": "Ticket {number} is being handled again.",
    "n_merged": "Your ticket {number} reports the same problem as ticket {original}; they are "
    "handled together and you will hear about it.",
    "n_recategorised": "Ticket {number} is now filed under: {category}.",
    # --- grid worker
    "joined": "Welcome! You are now a {role} of {area}. {help}",
    "join_usage": "Send /join CODE (the community office gives you the code).",
    "n_assignment": "[New] Ticket {number} ({urgency})\nCategory: {category}\nArea: {area}\n"
    "Report: {text}\nAccept by {accept_by}.",
    "n_reopen_assignment": "[Again] Ticket {number}: the resident says it is not solved or not "
    "satisfactory; accept it again by {accept_by}.",
    "n_reassigned_away": "Ticket {number} went to someone else; you need not handle it.",
    "n_cancelled": "Ticket {number} was withdrawn by the resident; you need not handle it.",
    "n_info_added": "Ticket {number}, the resident adds: {text}",
    "n_extension_decided_yes": "Ticket {number}: {days} more working days approved; resolve by "
    "{resolve_by}.",
    "n_extension_decided_no": "Ticket {number}: the extension was refused; resolve by "
    "{resolve_by}.",
    "n_rated": "Ticket {number} rated by the resident: {solved}, {satisfaction}.",
    "btn_accept": "Accept",
    "btn_return": "Return",
    "btn_note": "Note",
    "btn_extend": "More time",
    "btn_escalate": "Escalate",
    "btn_resolve": "Resolve",
    "accepted": "Accepted: ticket {number}; resolve it by {resolve_by}.",
    "ask_return_reason": "Why are you returning it?",
    "returned": "Ticket {number} goes back to be routed again.",
    "ask_note": "Type the note:",
    "noted": "Note kept.",
    "ask_extension_days": "How many more working days?",
    "ask_extension_reason": "Why is more time needed?",
    "extension_requested": "Extension requested; waiting for approval.",
    "ask_escalate_reason": "Why does it need the level above?",
    "escalated": "Ticket {number} escalated to {area}.",
    "ask_resolve_reply": "Type the answer the resident will read (a photo may follow):",
    "resolved": "Ticket {number} resolved; waiting for the resident's rating.",
    "tasks_none": "No open tickets.",
    "tasks_list": "Your open tickets ({count}, overdue first):",
    "task_line": "{number} | {state} | {left}",
    "left": "{time} left",
    "overdue_by": "overdue by {time}",
    "hours_minutes": "{hours}h {minutes}m",
    "days_hours": "{days}d {hours}h",
    "minutes": "{minutes} min",
    # --- staff
    "n_triage": "[To route] Ticket {number} ({urgency}){why}\nCategory: {category}\nArea: {area}\n"
    "Report: {text}",
    "why_unclassified": ": not classified",
    "why_unroutable": ": nobody on duty in the grid",
    "why_returned": ": returned by the worker ({note})",
    "why_escalated": ": escalated from below ({note})",
    "n_extension_request": "[Extension] Ticket {number} asks for {days} more working days: {note}",
    "btn_assign": "Assign",
    "btn_category": "Category",
    "btn_close": "Close",
    "btn_reopen": "Reopen",
    "btn_merge": "Merge",
    "btn_approve": "Approve",
    "btn_refuse": "Refuse",
    "triage_none": "Nothing is waiting to be routed.",
    "triage_list": "Waiting to be routed ({count}):",
    "choose_worker": "Which grid worker?",
    "no_workers": "No grid worker is on duty in your area.",
    "assigned_to": "Ticket {number} assigned to {worker}.",
    "recategorised": "Ticket {number} is now {category} (kept to improve the classifier).",
    "extension_approved": "Ticket {number}: {days} more working days approved.",
    "extension_refused": "Ticket {number}: extension refused.",
    "ask_close_reason": "Why is it being closed?",
    "closed": "Ticket {number} closed.",
    "ask_reopen_reason": "Why is it being reopened?",
    "reopened": "Ticket {number} reopened.",
    "ask_merge_original": "Type the number of the original ticket to merge this one into:",
    "merged": "Ticket {number} merged into {original}.",
    "overdue_none": "No ticket is overdue.",
    "overdue_list": "Overdue ({count}):",
    "stats": "[{area} · {period}]\nResponse {response}  Solved {solve}  Satisfied {satisfaction}\n"
    "({assigned} assigned, {in_time} accepted in time; {callbacks} callbacks)\n"
    "Open: {backlog}\nOverdue: {overdue}\nTop categories: {top}",
    "stats_usage": "Usage: /stats today|week|month",
    "period_today": "today",
    "period_week": "this week",
    "period_month": "this month",
    "invite_created": "Invite code: {code}\nArea: {area}\nValid until {expires}. The worker "
    "sends /join {code}",
    "invite_usage": "Usage: /invite AREA-CODE (e.g. /invite {example})",
    "ticket_usage": "Usage: /ticket NUMBER",
    # --- clocks
    "n_remind_accept": "[Reminder] Ticket {number}: accept it by {deadline}.",
    "n_remind_resolve": "[Reminder] Ticket {number}: resolve it by {deadline}.",
    "n_overdue_worker": "Ticket {number} is past its {clock} deadline; {area} now supervises it. "
    "Please handle it soon.",
    "n_overdue_staff": "[Overdue] Ticket {number} is past its {clock} deadline ({deadline}); "
    "please follow it up.",
    "n_overdue_resident": "Your ticket {number} is now followed up by {area}; we will handle it "
    "as soon as we can.",
    "n_auto_closed_resident": "Ticket {number} was resolved and you did not rate it, so it has "
    "been closed. If the problem is still there, just tell us again.",
    "n_auto_closed_worker": "Ticket {number} closed by itself: the resident did not rate it.",
    "btn_view": "View",
    "digest": "[Morning] {area} · {date}\n{new} new since yesterday, {overdue} overdue, "
    "{due_today} due today.",
    "ranking": "[{month} ranking · {area}]\nGrids:\n{grids}\nGrid workers:\n{workers}",
    "ranking_line": "{place}. {name}  response {response}  solved {solve}  satisfied "
    "{satisfaction}",
    "none": "none",
    "stats_chart": "Tickets by category · {area}, {period}",
    # --- delivery (issue #5)
    "undelivered_none": "No message has failed to reach its reader.",
    "undelivered_list": "Messages that could not be delivered and are no longer retried ({count}):",
    "undelivered_item": "#{id} to {person}, queued {created}, given up {parked}: {error}",
}

LABELS: dict[str, dict[str, str]] = {
    # The chat's command menu (Telegram's setMyCommands): what a resident can type.
    "command": {
        "start": "start over",
        "my": "my tickets",
        "area": "change my area",
        "lang": "language / 语言",
        "cancel": "cancel what I am doing",
        "join": "join as a grid worker (invite code)",
        "help": "help",
    },
    "state": {
        "submitted": "waiting to be routed",
        "assigned": "waiting to be accepted",
        "accepted": "being handled",
        "resolved": "resolved, waiting for your rating",
        "closed": "closed",
        "returned": "returned, waiting to be routed",
        "cancelled": "withdrawn",
    },
    "urgency": {"emergency": "emergency", "urgent": "urgent", "normal": "normal"},
    "clock": {"accept": "accept", "resolve": "resolve"},
    "satisfaction": {
        "satisfied": "satisfied",
        "basic": "mostly satisfied",
        "unsatisfied": "not satisfied",
    },
    "solved": {"1": "solved", "0": "not solved"},
    "role": {
        "worker": "grid worker",
        "staff": "staff member",
        "admin": "admin",
        "resident": "resident",
    },
    "action": {
        "submit": "reported",
        "assign": "assigned",
        "reassign": "reassigned",
        "accept": "accepted by the grid worker",
        "return": "returned",
        "note": "note",
        "add_info": "resident added information",
        "request_extension": "asked for more time",
        "approve_extension": "extension approved",
        "refuse_extension": "extension refused",
        "escalate": "escalated",
        "escalate_overdue": "escalated (overdue)",
        "resolve": "resolved",
        "confirm": "rated by the resident, closed",
        "reject": "not satisfactory, handled again",
        "close": "closed",
        "reopen": "reopened",
        "cancel": "withdrawn",
        "merge": "merged",
        "recategorise": "category corrected",
    },
}
