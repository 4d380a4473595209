# The Homebrew cask: `brew install --cask bittrader-worker` from the project's tap. The release
# workflow (.github/workflows/release.yml) attaches this file to each release with `version` and
# `sha256` filled in for its .dmg; publishing is copying that file into the tap's Casks/.
cask "bittrader-worker" do
  version "0.1.0"
  sha256 :no_check

  url "https://github.com/bittrader/bittrader-worker/releases/download/v#{version}/BitTrader.Worker.#{version}.dmg"
  name "BitTrader Worker"
  desc "Menu-bar app that lends this Mac's CPUs to your Ray cluster"
  homepage "https://github.com/bittrader/bittrader-worker"

  depends_on macos: ">= :monterey"

  app "BitTrader Worker.app"
  binary "#{appdir}/BitTrader Worker.app/Contents/MacOS/bittrader-worker"

  uninstall quit:      "com.bittrader.worker",
            launchctl: "com.bittrader.worker"

  zap trash: [
    "~/.bittrader_worker",
    "~/Library/Logs/BitTrader Worker",
    "~/Library/LaunchAgents/com.bittrader.worker.plist",
    "~/Library/LaunchAgents/com.bittrader.worker.plist.legacy-backup",
  ]
end
