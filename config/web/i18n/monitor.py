"""The wallboard's call supervision in Chinese and English (merged into
``i18n_catalogue.MESSAGES``; keys under ``js.`` are for ``static/wallboard.js``)."""

MONITOR_MESSAGES: dict[str, tuple[str, str]] = {
    "monitor.calls": ("通话监控", "Calls with an agent"),
    "monitor.hint": ("“监听”在浏览器里播放通话；“密语”“强插”“接管”用您自己的话机"
                     "（call_control.supervisors 为您指定的分机），请先摘机听到拨号音。",
                     "Listen plays the call in this browser. Whisper, barge and take over use "
                     "your own phone (the station call_control.supervisors gives you): pick it "
                     "up first, until you hear dial tone."),
    "monitor.line": ("线路", "Line"),
    "monitor.caller": ("来电号码", "Caller"),
    "monitor.queue": ("队列", "Queue"),
    "monitor.agent": ("坐席", "Agent"),
    "monitor.actions": ("操作", "Supervise"),
    "monitor.none": ("目前没有坐席通话。", "No call is with an agent now."),
    "monitor.level": ("音量", "Level"),
    "monitor.stop": ("停止监听", "Stop listening"),
    "js.monitor_listen": ("监听", "Listen"),
    "js.monitor_whisper": ("密语", "Whisper"),
    "js.monitor_barge": ("强插", "Barge"),
    "js.monitor_take_over": ("接管", "Take over"),
    "js.monitor_leave": ("话机退出", "Phone out"),
    "js.monitor_listening": ("正在监听 {line} 与坐席 {agent} 的通话",
                             "Listening to {line} with agent {agent}"),
    "js.monitor_delay": ("延迟约 {ms} 毫秒", "about {ms} ms behind"),
    "js.monitor_over": ("通话已结束，监听停止。", "The call ended; listening stopped."),
    "js.monitor_stopped": ("监听已停止。", "Listening stopped."),
    "js.monitor_refused": ("无法监听：", "Cannot listen:"),
    "js.monitor_no_audio": ("此浏览器不能播放音频（缺少 Web Audio）。",
                            "This browser cannot play audio (no Web Audio)."),
    "js.monitor_done_whisper": ("密语中：坐席能听到您（话机 {station}），客户听不到。",
                                "Whispering: the agent hears you (phone {station}), the caller "
                                "does not."),
    "js.monitor_done_barge": ("已强插：三方通话（话机 {station}）。",
                              "Barged in: all three talk (phone {station})."),
    "js.monitor_done_take_over": ("已接管：客户由您（话机 {station}）接听，坐席已退出。",
                                  "Taken over: the caller is yours (phone {station}); the "
                                  "agent left."),
    "js.monitor_done_leave": ("话机 {station} 已退出通话，请挂机。",
                              "Your phone {station} left the call; hang it up."),
    "js.monitor_confirm_take_over": ("接管后坐席将退出此通话。继续吗？",
                                     "The agent leaves the call when you take it over. Go on?"),
}
